using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.ZooKeeper.Recipes;
using Microsoft.Extensions.Options;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// Checks <see cref="MetricsCoordinationOptions"/> when the host starts (<c>ValidateOnStart</c>); every failure names
/// the setting by its configuration key (<c>MetricsCoordination:Tsdb:RetentionTime</c>) and says what is wrong.
/// </summary>
internal sealed class MetricsCoordinationOptionsValidator : IValidateOptions<MetricsCoordinationOptions>
{
    private const string P = MetricsCoordinationOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, MetricsCoordinationOptions options)
    {
        var errors = Check(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Check(MetricsCoordinationOptions options)
    {
        var errors = new List<string>();
        var tsdb = options.Tsdb ?? new HostedTsdbOptions();
        var rules = options.Rules ?? new HostedRulesOptions();
        var alerting = options.Alerting ?? new HostedAlertingOptions();
        var zk = options.ZooKeeper ?? new HostedZooKeeperOptions();
        var hasZooKeeper = !string.IsNullOrWhiteSpace(zk.ConnectionString);
        var rulesWanted = rules.Files.Count > 0 || !string.IsNullOrEmpty(rules.ZooKeeperPath);

        // TSDB
        if (tsdb.RetentionTime < TimeSpan.Zero || tsdb.RetentionTime.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            errors.Add($"{P}Tsdb:RetentionTime must be zero (off) or a positive whole number of milliseconds; got {tsdb.RetentionTime}.");
        }

        if (tsdb.RetentionSize < 0)
        {
            errors.Add($"{P}Tsdb:RetentionSize must not be negative (0 turns size retention off); got {tsdb.RetentionSize.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (tsdb.DataDirectory is { Length: > 0 } dir && dir.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{P}Tsdb:DataDirectory '{dir}' contains characters not allowed in a path.");
        }

        var self = tsdb.SelfCollection ?? new HostedSelfCollectionOptions();
        if (tsdb.Enabled && self.Enabled)
        {
            if (self.Interval < TimeSpan.FromMilliseconds(1) || self.Interval.Ticks % TimeSpan.TicksPerMillisecond != 0)
            {
                errors.Add($"{P}Tsdb:SelfCollection:Interval must be a positive whole number of milliseconds; got {self.Interval}.");
            }

            if (string.IsNullOrEmpty(self.Job))
            {
                errors.Add($"{P}Tsdb:SelfCollection:Job must not be empty.");
            }

            if (string.IsNullOrEmpty(self.Instance))
            {
                errors.Add($"{P}Tsdb:SelfCollection:Instance must not be empty.");
            }
        }

        var jobNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tsdb.ScrapeJobs.Count; i++)
        {
            var job = tsdb.ScrapeJobs[i];
            var key = $"{P}Tsdb:ScrapeJobs:{i.ToString(CultureInfo.InvariantCulture)}";
            if (string.IsNullOrEmpty(job.JobName))
            {
                errors.Add($"{key}:JobName is required.");
            }
            else if (!jobNames.Add(job.JobName))
            {
                errors.Add($"{key}:JobName '{job.JobName}' is used by another scrape job; job names must be unique.");
            }

            if (job.Targets.Count == 0)
            {
                errors.Add($"{key}:Targets must list at least one host:port.");
            }

            for (var t = 0; t < job.Targets.Count; t++)
            {
                if (!IsHostPort(job.Targets[t]))
                {
                    errors.Add($"{key}:Targets:{t.ToString(CultureInfo.InvariantCulture)} '{job.Targets[t]}' is not host:port (e.g. 127.0.0.1:9100).");
                }
            }

            if (job.ScrapeInterval < TimeSpan.FromMilliseconds(1))
            {
                errors.Add($"{key}:ScrapeInterval must be positive; got {job.ScrapeInterval}.");
            }

            if (job.ScrapeTimeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > job.ScrapeInterval))
            {
                errors.Add($"{key}:ScrapeTimeout must be positive and at most ScrapeInterval ({job.ScrapeInterval}); got {timeout}.");
            }

            if (job.Scheme is not ("http" or "https"))
            {
                errors.Add($"{key}:Scheme must be http or https; got '{job.Scheme}'.");
            }

            if (string.IsNullOrEmpty(job.MetricsPath) || job.MetricsPath[0] != '/')
            {
                errors.Add($"{key}:MetricsPath must start with '/'; got '{job.MetricsPath}'.");
            }

            foreach (var label in job.Labels.Keys)
            {
                if (!MetricNames.IsValidLegacyLabelName(label))
                {
                    errors.Add($"{key}:Labels: '{label}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).");
                }
            }
        }

        if (!tsdb.Enabled && tsdb.ScrapeJobs.Count > 0)
        {
            errors.Add($"{P}Tsdb:ScrapeJobs are set but Tsdb:Enabled is false; scraped samples need the TSDB.");
        }

        // Rules
        if (rulesWanted && !tsdb.Enabled)
        {
            errors.Add($"{P}Rules need the TSDB (rules read from and record into it), but Tsdb:Enabled is false.");
        }

        for (var i = 0; i < rules.Files.Count; i++)
        {
            var file = rules.Files[i];
            var key = $"{P}Rules:Files:{i.ToString(CultureInfo.InvariantCulture)}";
            if (string.IsNullOrWhiteSpace(file))
            {
                errors.Add($"{key} is empty.");
            }
            else if (RuleFileGlob.DirectoryHasWildcards(file))
            {
                errors.Add($"{key} '{file}': wildcards are allowed only in the file name part (e.g. rules/*.yml), not in directories.");
            }
        }

        if (!string.IsNullOrEmpty(rules.ZooKeeperPath))
        {
            if (!hasZooKeeper)
            {
                errors.Add($"{P}Rules:ZooKeeperPath '{rules.ZooKeeperPath}' needs {P}ZooKeeper:ConnectionString.");
            }

            if (!IsZooKeeperPath(rules.ZooKeeperPath))
            {
                errors.Add($"{P}Rules:ZooKeeperPath '{rules.ZooKeeperPath}' is not a ZooKeeper path (absolute, no empty, '.' or '..' segments, no trailing '/').");
            }

            if (!Enum.IsDefined(rules.ZooKeeperMode))
            {
                errors.Add($"{P}Rules:ZooKeeperMode must be Node or Subtree; got {rules.ZooKeeperMode}.");
            }
        }

        if (rules.EvaluationInterval < TimeSpan.FromMilliseconds(1))
        {
            errors.Add($"{P}Rules:EvaluationInterval must be at least 1 ms; got {rules.EvaluationInterval}.");
        }

        if (rules.ResendDelay < TimeSpan.Zero)
        {
            errors.Add($"{P}Rules:ResendDelay must not be negative; got {rules.ResendDelay}.");
        }

        if (rules.FileCheckInterval < TimeSpan.Zero)
        {
            errors.Add($"{P}Rules:FileCheckInterval must not be negative (0 turns the periodic check off); got {rules.FileCheckInterval}.");
        }

        foreach (var label in rules.ExternalLabels.Keys)
        {
            if (!MetricNames.IsValidLegacyLabelName(label))
            {
                errors.Add($"{P}Rules:ExternalLabels: '{label}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).");
            }
        }

        // Alerting
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < alerting.Alertmanagers.Count; i++)
        {
            var url = alerting.Alertmanagers[i];
            var key = $"{P}Alerting:Alertmanagers:{i.ToString(CultureInfo.InvariantCulture)}";
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{key} '{url}' is not an absolute http or https URL (e.g. http://127.0.0.1:9093).");
            }
            else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                errors.Add($"{key} '{url}' must not have a query, fragment or user info.");
            }
            else if (!seen.Add(uri.AbsoluteUri.TrimEnd('/')))
            {
                errors.Add($"{key} '{url}' is listed twice; it would get every alert twice.");
            }
        }

        if (alerting.Alertmanagers.Count > 0 && !rulesWanted)
        {
            errors.Add($"{P}Alerting:Alertmanagers are set but no rules are configured ({P}Rules:Files or {P}Rules:ZooKeeperPath): nothing would be sent.");
        }

        if (alerting.DrainTimeout < TimeSpan.Zero)
        {
            errors.Add($"{P}Alerting:DrainTimeout must not be negative; got {alerting.DrainTimeout}.");
        }

        // ZooKeeper
        if (hasZooKeeper)
        {
            if (zk.SessionTimeout < TimeSpan.FromMilliseconds(100))
            {
                errors.Add($"{P}ZooKeeper:SessionTimeout must be at least 100 ms; got {zk.SessionTimeout}.");
            }

            if (zk.ConnectTimeout <= TimeSpan.Zero)
            {
                errors.Add($"{P}ZooKeeper:ConnectTimeout must be positive; got {zk.ConnectTimeout}.");
            }

            var election = zk.Election ?? new HostedElectionOptions();
            if (election.Enabled && !IsZooKeeperPath(election.Path))
            {
                errors.Add($"{P}ZooKeeper:Election:Path '{election.Path}' is not a ZooKeeper path (absolute, no empty, '.' or '..' segments, no trailing '/').");
            }

            var registration = zk.Registration ?? new HostedRegistrationOptions();
            if (!string.IsNullOrEmpty(registration.Path))
            {
                if (!IsZooKeeperPath(registration.Path))
                {
                    errors.Add($"{P}ZooKeeper:Registration:Path '{registration.Path}' is not a ZooKeeper path.");
                }

                if (registration.Port is < 1 or > 65535)
                {
                    errors.Add($"{P}ZooKeeper:Registration:Port must be 1-65535 when Registration:Path is set; got {registration.Port.ToString(CultureInfo.InvariantCulture)}.");
                }

                if (registration.Format == ServiceFormat.Curator && string.IsNullOrEmpty(registration.ServiceName))
                {
                    errors.Add($"{P}ZooKeeper:Registration:ServiceName is required for the Curator format.");
                }
            }
        }
        else if (!string.IsNullOrEmpty(zk.Registration?.Path))
        {
            errors.Add($"{P}ZooKeeper:Registration:Path is set but {P}ZooKeeper:ConnectionString is not.");
        }

        return errors;
    }

    private static bool IsHostPort(string? target)
    {
        if (string.IsNullOrEmpty(target))
        {
            return false;
        }

        var colon = target.LastIndexOf(':');
        return colon > 0
            && int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is >= 1 and <= 65535
            && !target.Contains('/', StringComparison.Ordinal);
    }

    internal static bool IsZooKeeperPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return false;
        }

        if (path == "/")
        {
            return true;
        }

        foreach (var segment in path[1..].Split('/'))
        {
            if (segment is "" or "." or ".." || segment.Any(char.IsControl))
            {
                return false;
            }
        }

        return true;
    }
}
