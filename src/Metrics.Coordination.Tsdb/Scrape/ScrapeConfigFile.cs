using System.Globalization;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Relabeling;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// Reads the scrape part of a Prometheus configuration file (<c>prometheus.yml</c>) into <see cref="ScrapeJobOptions"/>:
/// <c>global.scrape_interval</c>/<c>scrape_timeout</c> and, per <c>scrape_configs</c> entry, <c>job_name</c>,
/// <c>scrape_interval</c>, <c>scrape_timeout</c>, <c>metrics_path</c>, <c>scheme</c>, <c>params</c>,
/// <c>honor_labels</c>, <c>honor_timestamps</c>, <c>sample_limit</c>, <c>label_limit</c>,
/// <c>label_name_length_limit</c>, <c>label_value_length_limit</c>, <c>body_size_limit</c>, <c>static_configs</c>
/// (targets and labels), <c>relabel_configs</c> and <c>metric_relabel_configs</c>. Defaults and validation are
/// Prometheus 2.42's, and so are the error texts, prefixed with the file and line. Top-level sections that do not
/// concern scraping (<c>rule_files</c>, <c>alerting</c>, <c>remote_write</c>, ...) are skipped. Prometheus settings
/// this loader cannot honour (service discovery other than <c>static_configs</c>, authentication, TLS, proxies) are
/// refused with an error saying so rather than silently ignored.
/// </summary>
public static class ScrapeConfigFile
{
    private const string ScrapeConfigType = "config.ScrapeConfig";

    // yaml.v2's resolution of plain scalars (YAML 1.1): which plain words are booleans, and what an int looks like.
    private static readonly HashSet<string> TrueWords = new(StringComparer.Ordinal) { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON" };
    private static readonly HashSet<string> FalseWords = new(StringComparer.Ordinal) { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF" };
    private static readonly Regex IntPattern = new(@"\A[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)\z", RegexOptions.CultureInvariant);
    private static readonly Regex FloatPattern = new(@"\A(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z", RegexOptions.CultureInvariant);

    // model.ParseDuration in Prometheus 2.42: each unit at most once, in this order, integer counts.
    private static readonly Regex DurationPattern = new(@"\A(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\z", RegexOptions.CultureInvariant);
    private static readonly long[] DurationUnitsMs = [365L * 24 * 3600 * 1000, 7L * 24 * 3600 * 1000, 24L * 3600 * 1000, 3600L * 1000, 60L * 1000, 1000L, 1L];

    private static readonly string[] TopLevelKeys = ["global", "scrape_configs"];

    // Prometheus 2.42's other top-level sections: valid in prometheus.yml, of no concern to a scrape manager.
    private static readonly string[] IgnoredTopLevelKeys = ["alerting", "rule_files", "remote_write", "remote_read", "storage", "tracing"];

    private static readonly string[] GlobalKeys = ["scrape_interval", "scrape_timeout", "evaluation_interval", "query_log_file", "external_labels"];

    private static readonly string[] JobKeys =
    [
        "job_name", "honor_labels", "honor_timestamps", "params", "scrape_interval", "scrape_timeout", "metrics_path", "scheme",
        "body_size_limit", "sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit",
        "static_configs", "relabel_configs", "metric_relabel_configs",
    ];

    // Prometheus 2.42 scrape_config fields we cannot honour: the HTTP client's authentication, TLS and proxy
    // settings, and target_limit. (Any *_sd_configs key is refused the same way.)
    private static readonly string[] UnsupportedJobKeys =
    [
        "basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file", "tls_config", "proxy_url",
        "follow_redirects", "enable_http2", "target_limit",
    ];

    // body_size_limit units (alecthomas/units Base2Bytes): KiB, MiB, ... or KB, MB, ... (both base 2), not mixed.
    private static readonly Dictionary<string, long> Base2Units = BuildByteUnits("iB");
    private static readonly Dictionary<string, long> LegacyUnits = BuildByteUnits("B");

    /// <summary>Reads and validates the file at <paramref name="path"/>; returns one <see cref="ScrapeJobOptions"/> per <c>scrape_configs</c> entry, in file order.</summary>
    /// <exception cref="ScrapeConfigException">The file cannot be read, is not valid YAML, or fails Prometheus's validation (or uses a setting this loader refuses).</exception>
    public static IReadOnlyList<ScrapeJobOptions> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScrapeConfigException(path, 0, e.Message, e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates <paramref name="yaml"/> as the file <paramref name="path"/> (used in error messages only).</summary>
    /// <exception cref="ScrapeConfigException">The text is not valid YAML or fails Prometheus's validation (or uses a setting this loader refuses).</exception>
    public static IReadOnlyList<ScrapeJobOptions> Parse(string yaml, string path)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(path);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            var duplicate = Regex.Match(message, @"\ADuplicate key (.*)\z", RegexOptions.CultureInvariant);
            throw new ScrapeConfigException(
                path,
                (int)e.Start.Line,
                duplicate.Success
                    ? $"yaml: unmarshal errors:\n  line {e.Start.Line.ToString(CultureInfo.InvariantCulture)}: field {duplicate.Groups[1].Value} already set"
                    : "yaml: " + message,
                e);
        }

        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return [];
        }

        return new Reader(path).Read(stream.Documents[0].RootNode);
    }

    /// <summary>Parses a Prometheus duration (<c>15s</c>, <c>1m30s</c>, <c>0</c>) as Prometheus 2.42's <c>model.ParseDuration</c> does.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text == "0")
        {
            return true;
        }

        var m = DurationPattern.Match(text);
        if (text.Length == 0 || !m.Success)
        {
            return false;
        }

        long total = 0;
        try
        {
            for (var i = 0; i < DurationUnitsMs.Length; i++)
            {
                if (m.Groups[i + 1].Success)
                {
                    total = checked(total + checked(long.Parse(m.Groups[i + 1].Value, NumberStyles.None, CultureInfo.InvariantCulture) * DurationUnitsMs[i]));
                }
            }
        }
        catch (Exception e) when (e is OverflowException)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>
    /// Parses a byte size as Prometheus's <c>body_size_limit</c> does (base-2 units: <c>B</c>, <c>KB</c>/<c>KiB</c>,
    /// <c>MB</c>/<c>MiB</c>, ... <c>EB</c>/<c>EiB</c>; decimal fractions and concatenations such as <c>1GB512MB</c>).
    /// Returns null on success, else the error text.
    /// </summary>
    internal static string? TryParseBytes(string text, out long bytes)
    {
        // alecthomas/units: the whole string in the iB units, else the whole string in the B units.
        var error = TryParseBytes(text, Base2Units, out bytes);
        return error is null ? null : TryParseBytes(text, LegacyUnits, out bytes);
    }

    private static string? TryParseBytes(string text, Dictionary<string, long> units, out long bytes)
    {
        bytes = 0;
        if (text.Length == 0)
        {
            return "units: invalid ";
        }

        var s = text;
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s == "0")
        {
            return null;
        }

        if (s.Length == 0)
        {
            return "units: invalid " + text;
        }

        double total = 0;
        var pos = 0;
        while (pos < s.Length)
        {
            var start = pos;
            while (pos < s.Length && (char.IsAsciiDigit(s[pos]) || s[pos] == '.'))
            {
                pos++;
            }

            if (pos == start || !double.TryParse(s.AsSpan(start, pos - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return "units: invalid " + text;
            }

            var unitStart = pos;
            while (pos < s.Length && !char.IsAsciiDigit(s[pos]) && s[pos] != '.')
            {
                pos++;
            }

            var unit = s[unitStart..pos];
            if (!units.TryGetValue(unit, out var scale))
            {
                return "units: unknown unit " + unit + " in " + text;
            }

            total += number * scale;
            if (total >= 9.223372036854775807e18)
            {
                return "units: overflow parsing unit";
            }
        }

        bytes = (long)(negative ? -total : total);
        return null;
    }

    private static Dictionary<string, long> BuildByteUnits(string suffix)
    {
        var d = new Dictionary<string, long>(StringComparer.Ordinal) { ["B"] = 1 };
        var scale = 1L;
        foreach (var prefix in new[] { "K", "M", "G", "T", "P", "E" })
        {
            scale *= 1024;
            d[prefix + suffix] = scale;
        }

        return d;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private sealed class Reader(string path)
    {
        private TimeSpan _globalInterval = TimeSpan.FromMinutes(1);
        private TimeSpan _globalTimeout = TimeSpan.FromSeconds(10);

        public IReadOnlyList<ScrapeJobOptions> Read(YamlNode root)
        {
            var mapping = root as YamlMappingNode ?? throw Unmarshal(root, $"cannot unmarshal {Tag(root)} into config.plain");
            var fields = Fields(mapping, "config.plain", TopLevelKeys, IgnoredTopLevelKeys, null);
            if (fields.TryGetValue("global", out var global) && !IsNull(global))
            {
                ReadGlobal(global);
            }

            var jobs = new List<ScrapeJobOptions>();
            if (!fields.TryGetValue("scrape_configs", out var list) || IsNull(list))
            {
                return jobs;
            }

            if (list is not YamlSequenceNode sequence)
            {
                throw Unmarshal(list, $"cannot unmarshal {Tag(list)} into []*config.ScrapeConfig");
            }

            var names = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var item in sequence.Children)
            {
                if (IsNull(item))
                {
                    // Prometheus: "empty or null scrape config section".
                    throw Error(item, "empty or null scrape config section");
                }

                var job = ReadJob(item);
                if (!names.TryAdd(job.JobName, item))
                {
                    throw Error(item, $"found multiple scrape configs with job name \"{job.JobName}\"");
                }

                jobs.Add(job);
            }

            return jobs;
        }

        private void ReadGlobal(YamlNode node)
        {
            var mapping = node as YamlMappingNode ?? throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into config.GlobalConfig");
            var fields = Fields(mapping, "config.plain", GlobalKeys, [], null);
            TimeSpan interval = TimeSpan.Zero, timeout = TimeSpan.Zero;
            if (fields.TryGetValue("scrape_interval", out var i))
            {
                interval = Duration(i);
            }

            if (fields.TryGetValue("scrape_timeout", out var t))
            {
                timeout = Duration(t);
            }

            if (fields.TryGetValue("evaluation_interval", out var e))
            {
                _ = Duration(e);
            }

            if (fields.TryGetValue("external_labels", out var labels))
            {
                _ = LabelSet(labels);
            }

            if (interval == TimeSpan.Zero)
            {
                interval = TimeSpan.FromMinutes(1);
            }

            if (timeout > interval)
            {
                throw Error(mapping, "global scrape timeout greater than scrape interval");
            }

            if (timeout == TimeSpan.Zero)
            {
                timeout = TimeSpan.FromSeconds(10) > interval ? interval : TimeSpan.FromSeconds(10);
            }

            _globalInterval = interval;
            _globalTimeout = timeout;
        }

        private ScrapeJobOptions ReadJob(YamlNode node)
        {
            var mapping = node as YamlMappingNode ?? throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into config.ScrapeConfig");
            var fields = Fields(mapping, ScrapeConfigType, JobKeys, [], UnsupportedJobKeys);
            var jobName = fields.TryGetValue("job_name", out var n) ? String(n) : string.Empty;
            if (jobName.Length == 0)
            {
                throw Error(fields.GetValueOrDefault("job_name") ?? mapping, "job_name is empty");
            }

            var interval = fields.TryGetValue("scrape_interval", out var i) ? Duration(i) : TimeSpan.Zero;
            var timeout = fields.TryGetValue("scrape_timeout", out var t) ? Duration(t) : TimeSpan.Zero;
            if (interval == TimeSpan.Zero)
            {
                interval = _globalInterval;
            }

            if (timeout > interval)
            {
                throw Error(t ?? mapping, $"scrape timeout greater than scrape interval for scrape config with job name \"{jobName}\"");
            }

            if (timeout == TimeSpan.Zero)
            {
                timeout = _globalTimeout > interval ? interval : _globalTimeout;
            }

            var metricsPath = fields.TryGetValue("metrics_path", out var mp) && !IsNull(mp) ? String(mp) : "/metrics";
            var scheme = fields.TryGetValue("scheme", out var sc) && !IsNull(sc) ? String(sc) : "http";
            var bodySizeLimit = 0L;
            if (fields.TryGetValue("body_size_limit", out var bsl) && !IsNull(bsl))
            {
                var error = TryParseBytes(String(bsl), out bodySizeLimit);
                if (error is not null)
                {
                    throw Error(bsl, error);
                }
            }

            var relabel = fields.TryGetValue("relabel_configs", out var rc) ? Relabel(rc) : [];
            var metricRelabel = fields.TryGetValue("metric_relabel_configs", out var mrc) ? Relabel(mrc) : [];
            var targetNodes = new List<List<YamlNode>>();
            var groups = fields.TryGetValue("static_configs", out var st) ? StaticConfigs(st, targetNodes) : [];
            CheckTargetAddresses(groups, relabel, jobName, interval, timeout, metricsPath, scheme, targetNodes);

            var job = new ScrapeJobOptions
            {
                JobName = jobName,
                ScrapeInterval = interval,
                ScrapeTimeout = timeout,
                MetricsPath = metricsPath,
                Scheme = scheme,
                Params = fields.TryGetValue("params", out var p) ? Params(p) : new Dictionary<string, string>(),
                HonorLabels = fields.TryGetValue("honor_labels", out var hl) && Bool(hl, false),
                HonorTimestamps = !fields.TryGetValue("honor_timestamps", out var ht) || Bool(ht, true),
                SampleLimit = fields.TryGetValue("sample_limit", out var sl) ? UInt(sl) : 0,
                LabelLimit = fields.TryGetValue("label_limit", out var ll) ? UInt(ll) : 0,
                LabelNameLengthLimit = fields.TryGetValue("label_name_length_limit", out var lnl) ? UInt(lnl) : 0,
                LabelValueLengthLimit = fields.TryGetValue("label_value_length_limit", out var lvl) ? UInt(lvl) : 0,
                BodySizeLimit = Math.Max(0, bodySizeLimit),
                StaticTargets = groups,
                RelabelConfigs = relabel,
                MetricRelabelConfigs = metricRelabel,
            };

            // What Prometheus 2.42 accepts but cannot work here: refused, naming the line.
            if (scheme is not ("http" or "https"))
            {
                throw Unsupported(sc!, $"scheme \"{scheme}\" is not supported (http or https)");
            }

            if (metricsPath.Length == 0 || metricsPath[0] != '/')
            {
                throw Unsupported(mp!, $"metrics_path \"{metricsPath}\" does not start with '/'");
            }

            try
            {
                job.Validate();
            }
            catch (ArgumentException e)
            {
                throw Error(mapping, e.Message);
            }

            return job;
        }

        /// <summary>
        /// Prometheus refuses URLs in static targets (<c>"http://h:1" is not a valid hostname</c>) when the job has no
        /// relabel rules, and promtool also refuses a relabeled address with a slash (naming the instance and group).
        /// </summary>
        private void CheckTargetAddresses(List<ScrapeTargetGroup> groups, IReadOnlyList<RelabelConfig> relabel, string jobName, TimeSpan interval, TimeSpan timeout, string metricsPath, string scheme, List<List<YamlNode>> nodes)
        {
            var relabeler = relabel.Count == 0 ? null : new Relabeler(relabel);
            for (var g = 0; g < groups.Count; g++)
            {
                for (var t = 0; t < groups[g].Targets.Count; t++)
                {
                    var address = groups[g].Targets[t];
                    if (relabeler is null)
                    {
                        if (address.Contains('/', StringComparison.Ordinal))
                        {
                            throw Error(nodes[g][t], $"\"{address}\" is not a valid hostname");
                        }

                        continue;
                    }

                    var d = new Dictionary<string, string>(groups[g].Labels, StringComparer.Ordinal)
                    {
                        ["__address__"] = address,
                        ["job"] = jobName,
                        ["__scrape_interval__"] = ScrapeTarget.FormatDuration(interval),
                        ["__scrape_timeout__"] = ScrapeTarget.FormatDuration(timeout),
                        ["__metrics_path__"] = metricsPath,
                        ["__scheme__"] = scheme,
                    };
                    var relabeled = relabeler.Process(Labels.From([.. d.Where(kv => kv.Value.Length > 0).Select(kv => new Label(kv.Key, kv.Value))]));
                    var relabeledAddress = relabeled?.Get("__address__") ?? string.Empty;
                    if (relabeledAddress.Contains('/', StringComparison.Ordinal))
                    {
                        var withPort = HasPort(relabeledAddress) ? relabeledAddress : relabeledAddress + (scheme == "https" ? ":443" : ":80");
                        throw Error(nodes[g][t], $"instance {t.ToString(CultureInfo.InvariantCulture)} in group {g.ToString(CultureInfo.InvariantCulture)}: \"{withPort}\" is not a valid hostname");
                    }
                }
            }
        }

        private static bool HasPort(string address)
        {
            var colon = address.LastIndexOf(':');
            return colon >= 0 && address.IndexOf(']', colon) < 0 && colon < address.Length - 1 && address.AsSpan(colon + 1).IndexOfAnyExceptInRange('0', '9') < 0;
        }

        private List<ScrapeTargetGroup> StaticConfigs(YamlNode node, List<List<YamlNode>> targetNodes)
        {
            if (IsNull(node))
            {
                return [];
            }

            if (node is not YamlSequenceNode sequence)
            {
                throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into discovery.StaticConfig");
            }

            var groups = new List<ScrapeTargetGroup>(sequence.Children.Count);
            foreach (var item in sequence.Children)
            {
                if (IsNull(item))
                {
                    continue;
                }

                var mapping = item as YamlMappingNode ?? throw Unmarshal(item, $"cannot unmarshal {Tag(item)} into targetgroup.Group");
                var fields = Fields(mapping, "struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }", ["targets", "labels"], [], null);
                var targets = new List<string>();
                var nodes = new List<YamlNode>();
                if (fields.TryGetValue("targets", out var tn) && !IsNull(tn))
                {
                    if (tn is not YamlSequenceNode targetSeq)
                    {
                        throw Unmarshal(tn, $"cannot unmarshal {Tag(tn)} into []string");
                    }

                    foreach (var target in targetSeq.Children)
                    {
                        targets.Add(String(target));
                        nodes.Add(target);
                    }
                }

                var labels = fields.TryGetValue("labels", out var ln) ? LabelSet(ln) : new Dictionary<string, string>();
                groups.Add(new ScrapeTargetGroup { Targets = targets, Labels = labels });
                targetNodes.Add(nodes);
            }

            return groups;
        }

        private Dictionary<string, string> LabelSet(YamlNode node)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (IsNull(node))
            {
                return result;
            }

            var mapping = node as YamlMappingNode ?? throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into model.LabelSet");
            foreach (var (k, v) in mapping.Children)
            {
                var name = String(k);
                if (!MetricNames.IsValidLegacyLabelName(name))
                {
                    throw Error(k, $"\"{name}\" is not a valid label name");
                }

                result[name] = IsNull(v) ? string.Empty : String(v);
            }

            return result;
        }

        private Dictionary<string, string> Params(YamlNode node)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (IsNull(node))
            {
                return result;
            }

            var mapping = node as YamlMappingNode ?? throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into url.Values");
            foreach (var (k, v) in mapping.Children)
            {
                if (IsNull(v))
                {
                    continue;
                }

                var values = v as YamlSequenceNode ?? throw Unmarshal(v, $"cannot unmarshal {Tag(v)} into []string");
                if (values.Children.Count > 0)
                {
                    // Prometheus sends every value; the first becomes __param_<name>. We send the first.
                    result[String(k)] = String(values.Children[0]);
                }
            }

            return result;
        }

        private IReadOnlyList<RelabelConfig> Relabel(YamlNode node)
        {
            try
            {
                return RelabelConfig.FromYamlList(node);
            }
            catch (RelabelConfigException e)
            {
                // "yaml: line N: <Prometheus's message>" from the relabel reader: re-anchor it on this file.
                var m = Regex.Match(e.Message, @"\Ayaml: line (\d+): (.*)\z", RegexOptions.Singleline | RegexOptions.CultureInvariant);
                var line = m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : (int)node.Start.Line;
                var reason = m.Success ? m.Groups[2].Value : e.Message;
                if (reason.StartsWith("field ", StringComparison.Ordinal) || reason.StartsWith("cannot unmarshal ", StringComparison.Ordinal))
                {
                    // A structural error: worded as yaml.v2's unmarshal errors, as Prometheus reports them.
                    var known = reason.IndexOf(" (known: ", StringComparison.Ordinal);
                    reason = $"yaml: unmarshal errors:\n  line {line.ToString(CultureInfo.InvariantCulture)}: {(known >= 0 ? reason[..known] : reason)}";
                }

                throw new ScrapeConfigException(path, line, reason, e);
            }
        }

        private Dictionary<string, YamlNode> Fields(YamlMappingNode mapping, string type, string[] known, string[] ignored, string[]? unsupported)
        {
            var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (keyNode, value) in mapping.Children)
            {
                var key = String(keyNode);
                if (Array.IndexOf(known, key) < 0 && Array.IndexOf(ignored, key) < 0)
                {
                    if (unsupported is not null && (Array.IndexOf(unsupported, key) >= 0 || key.EndsWith("_sd_configs", StringComparison.Ordinal)))
                    {
                        throw Unsupported(keyNode, $"{key} is not supported (static_configs over HTTP without authentication only)");
                    }

                    throw Unmarshal(keyNode, $"field {key} not found in type {type}");
                }

                if (!fields.TryAdd(key, value))
                {
                    throw Unmarshal(keyNode, $"field {key} already set in type {type}");
                }
            }

            return fields;
        }

        private string String(YamlNode node) => node switch
        {
            YamlScalarNode s when IsNull(s) => string.Empty,
            YamlScalarNode s => s.Value ?? string.Empty,
            _ => throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into string"),
        };

        private TimeSpan Duration(YamlNode node)
        {
            if (IsNull(node))
            {
                return TimeSpan.Zero;
            }

            var text = String(node);
            if (text.Length == 0)
            {
                throw Error(node, "empty duration string");
            }

            return TryParseDuration(text, out var d) ? d : throw Error(node, $"not a valid duration string: \"{text}\"");
        }

        private bool Bool(YamlNode node, bool whenNull)
        {
            if (IsNull(node))
            {
                return whenNull;
            }

            if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } v })
            {
                if (TrueWords.Contains(v))
                {
                    return true;
                }

                if (FalseWords.Contains(v))
                {
                    return false;
                }
            }

            throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into bool");
        }

        private int UInt(YamlNode node)
        {
            if (IsNull(node))
            {
                return 0;
            }

            if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } v } && IntPattern.IsMatch(v))
            {
                if (v[0] == '-')
                {
                    throw Unmarshal(node, $"cannot unmarshal !!int `{v}` into uint");
                }

                var digits = v.TrimStart('+').Replace("_", string.Empty, StringComparison.Ordinal);
                if (digits.Length > 1 && digits[0] == '0' && char.IsAsciiDigit(digits[1]))
                {
                    // A leading zero is octal in YAML 1.1.
                    digits = "0o" + digits[1..];
                }

                ulong value;
                var ok = digits switch
                {
                    ['0', 'x', .. var hex] => ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value),
                    ['0', 'b', .. var bin] => ulong.TryParse(bin, NumberStyles.AllowBinarySpecifier, CultureInfo.InvariantCulture, out value),
                    ['0', 'o', .. var oct] => TryOctal(oct, out value),
                    _ => ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value),
                };
                if (!ok || value > uint.MaxValue)
                {
                    throw Unmarshal(node, $"cannot unmarshal !!int `{v}` into uint");
                }

                // Limits beyond int.MaxValue mean "no practical limit" here.
                return (int)Math.Min(value, int.MaxValue);
            }

            throw Unmarshal(node, $"cannot unmarshal {Tag(node)} into uint");
        }

        private static bool TryOctal(string digits, out ulong value)
        {
            value = 0;
            foreach (var c in digits)
            {
                if (c is < '0' or > '7' || value > (ulong.MaxValue >> 3))
                {
                    return false;
                }

                value = (value << 3) | (uint)(c - '0');
            }

            return digits.Length > 0;
        }

        /// <summary>yaml.v2's name for what a node resolved to, as its unmarshal errors print it (<c>!!str `abc`</c>).</summary>
        private static string Tag(YamlNode node)
        {
            switch (node)
            {
                case YamlMappingNode:
                    return "!!map";
                case YamlSequenceNode:
                    return "!!seq";
                case YamlScalarNode s:
                    var v = s.Value ?? string.Empty;
                    if (s.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
                    {
                        return $"!!str `{v}`";
                    }

                    if (IsNull(s))
                    {
                        return "!!null";
                    }

                    if (TrueWords.Contains(v) || FalseWords.Contains(v))
                    {
                        return $"!!bool `{v}`";
                    }

                    if (IntPattern.IsMatch(v))
                    {
                        return $"!!int `{v}`";
                    }

                    return FloatPattern.IsMatch(v) ? $"!!float `{v}`" : $"!!str `{v}`";
                default:
                    return "!!node";
            }
        }

        private ScrapeConfigException Error(YamlNode node, string message) => new(path, (int)node.Start.Line, message);

        private ScrapeConfigException Unmarshal(YamlNode node, string message) =>
            new(path, (int)node.Start.Line, $"yaml: unmarshal errors:\n  line {node.Start.Line.ToString(CultureInfo.InvariantCulture)}: {message}");

        private ScrapeConfigException Unsupported(YamlNode node, string message) => new(path, (int)node.Start.Line, message, unsupported: true);
    }
}

/// <summary>
/// A scrape configuration file is invalid: the message is <c>file:line: reason</c>, the reason in Prometheus's words
/// where Prometheus refuses the same input.
/// </summary>
public sealed class ScrapeConfigException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public ScrapeConfigException(string path, int line, string reason, Exception? innerException = null)
        : this(path, line, reason, unsupported: false, innerException)
    {
    }

    internal ScrapeConfigException(string path, int line, string reason, bool unsupported, Exception? innerException = null)
        : base(line > 0 ? $"{path}:{line.ToString(CultureInfo.InvariantCulture)}: {reason}" : $"{path}: {reason}", innerException)
    {
        Path = path;
        Line = line;
        Reason = reason;
        IsUnsupported = unsupported;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line of the offending entry, or 0 when the problem has no line (an unreadable file).</summary>
    public int Line { get; }

    /// <summary>The reason without the file and line (Prometheus's error text where it has one).</summary>
    public string Reason { get; }

    /// <summary>
    /// True when Prometheus would accept the setting but this loader cannot honour it (service discovery, authentication,
    /// TLS, a scheme other than http/https); false when Prometheus refuses the file too.
    /// </summary>
    public bool IsUnsupported { get; }
}
