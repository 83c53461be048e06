using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Relabeling;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>A target after relabeling: its URL and the labels every sample from it carries.</summary>
internal sealed class ScrapeTarget
{
    public ScrapeTarget(string job, Labels labels, Labels discoveredLabels, Uri url)
    {
        Job = job;
        Labels = labels;
        DiscoveredLabels = discoveredLabels;
        Url = url;
        Key = labels.ToString() + " " + url;
    }

    public string Job { get; }

    /// <summary>The labels stored with samples (no <c>__</c>-prefixed labels).</summary>
    public Labels Labels { get; }

    /// <summary>The labels before relabeling.</summary>
    public Labels DiscoveredLabels { get; }

    public Uri Url { get; }

    /// <summary>Identity for reconciliation (Prometheus hashes labels and URL).</summary>
    public string Key { get; }

    /// <summary>
    /// Prometheus's stable per-target schedule offset: FNV-1a 64 over the label hash and the URL, XOR the seed,
    /// modulo the interval, counted from the interval boundary after <paramref name="nowUnixNanos"/>.
    /// </summary>
    public TimeSpan Offset(TimeSpan interval, ulong seed, long nowUnixNanos)
    {
        var intervalNanos = interval.Ticks * 100;
        var hash = new FnvHash();
        hash.Append(Encoding.UTF8.GetBytes(Labels.Hash.ToString("D16", CultureInfo.InvariantCulture)));
        hash.Append(Encoding.UTF8.GetBytes(Url.ToString()));
        var baseNanos = intervalNanos - (nowUnixNanos % intervalNanos);
        var offset = (long)((hash.Value ^ seed) % (ulong)intervalNanos);
        var next = baseNanos + offset;
        if (next > intervalNanos)
        {
            next -= intervalNanos;
        }

        return TimeSpan.FromTicks(next / 100);
    }

    /// <summary>
    /// Builds the targets of one job from discovered groups as Prometheus's <c>populateLabels</c> does: group and
    /// target labels, then <c>job</c>, <c>__scheme__</c>, <c>__metrics_path__</c>, <c>__scrape_interval__</c>,
    /// <c>__scrape_timeout__</c> and <c>__param_*</c> unless present; relabel; drop if empty; require
    /// <c>__address__</c>; drop <c>__meta_*</c>; default <c>instance</c> to the address.
    /// </summary>
    public static List<ScrapeTarget> Populate(ScrapeJobOptions job, Relabeler relabeler, IEnumerable<ScrapeTargetGroup> groups, List<string> errors)
    {
        var targets = new List<ScrapeTarget>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            foreach (var address in group.Targets)
            {
                var d = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (n, v) in group.Labels)
                {
                    d[n] = v;
                }

                if (group.TargetLabels?.TryGetValue(address, out var extra) == true)
                {
                    foreach (var (n, v) in extra)
                    {
                        d[n] = v;
                    }
                }

                d["__address__"] = address;
                d.TryAdd("job", job.JobName);
                d.TryAdd("__scrape_interval__", FormatDuration(job.ScrapeInterval));
                d.TryAdd("__scrape_timeout__", FormatDuration(job.EffectiveTimeout));
                d.TryAdd("__metrics_path__", job.MetricsPath);
                d.TryAdd("__scheme__", job.Scheme);
                foreach (var (n, v) in job.Params)
                {
                    d.TryAdd("__param_" + n, v);
                }

                var discovered = Labels.From([.. d.Where(kv => kv.Value.Length > 0).Select(kv => new Label(kv.Key, kv.Value))]);
                var relabeled = relabeler.Process(discovered);
                if (relabeled is null || relabeled.Count == 0)
                {
                    continue;
                }

                var addr = relabeled.Get("__address__");
                if (addr.Length == 0)
                {
                    errors.Add($"job {job.JobName}: target {discovered}: no address");
                    continue;
                }

                var kept = new List<Label>(relabeled.Count + 1);
                var query = new StringBuilder();
                foreach (var l in relabeled.AsSpan())
                {
                    if (l.Name.StartsWith("__param_", StringComparison.Ordinal))
                    {
                        query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(l.Name["__param_".Length..])).Append('=').Append(Uri.EscapeDataString(l.Value));
                    }

                    if (!l.Name.StartsWith("__", StringComparison.Ordinal))
                    {
                        kept.Add(l);
                    }
                }

                if (relabeled.Get("instance").Length == 0)
                {
                    kept.Add(new Label("instance", addr));
                }

                var scheme = relabeled.Get("__scheme__") is { Length: > 0 } s ? s : job.Scheme;
                var path = relabeled.Get("__metrics_path__") is { Length: > 0 } p ? p : job.MetricsPath;
                if (!Uri.TryCreate($"{scheme}://{addr}{path}{query}", UriKind.Absolute, out var url))
                {
                    errors.Add($"job {job.JobName}: target {discovered}: invalid URL {scheme}://{addr}{path}");
                    continue;
                }

                var target = new ScrapeTarget(job.JobName, Labels.From(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(kept)), discovered, url);
                if (seen.Add(target.Key))
                {
                    targets.Add(target);
                }
            }
        }

        return targets;
    }

    /// <summary>Prometheus's <c>model.Duration</c> formatting: <c>1m</c>, <c>15s</c>, <c>1m30s</c>, <c>500ms</c>.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms == 0)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        void Unit(string unit, long mult, bool exact)
        {
            if (exact && ms % mult != 0)
            {
                return;
            }

            var v = ms / mult;
            if (v > 0)
            {
                sb.Append(v.ToString(CultureInfo.InvariantCulture)).Append(unit);
                ms -= v * mult;
            }
        }

        Unit("y", 1000L * 60 * 60 * 24 * 365, true);
        Unit("w", 1000L * 60 * 60 * 24 * 7, true);
        Unit("d", 1000L * 60 * 60 * 24, false);
        Unit("h", 1000L * 60 * 60, false);
        Unit("m", 1000L * 60, false);
        Unit("s", 1000L, false);
        Unit("ms", 1, false);
        return sb.ToString();
    }

    public override string ToString() => $"{Job} {Url}";

    private struct FnvHash
    {
        private ulong _value;
        private bool _started;

        public readonly ulong Value => _started ? _value : 14695981039346656037UL;

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (!_started)
            {
                _value = 14695981039346656037UL;
                _started = true;
            }

            foreach (var b in bytes)
            {
                _value ^= b;
                _value *= 1099511628211UL;
            }
        }
    }
}
