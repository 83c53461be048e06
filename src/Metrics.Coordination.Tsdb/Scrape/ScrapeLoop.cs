using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Abstractions.Storage;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// Scrapes one target at its job's interval and appends what it finds, with Prometheus's semantics: the synthetic
/// report series, honor_labels/honor_timestamps, metric relabeling, sample and label limits that fail the whole
/// scrape, and staleness markers for series that disappear, for everything when a scrape fails, and at removal.
/// </summary>
/// <summary>What a stopping scrape loop does about the series it exposed.</summary>
internal enum EndOfRunStaleness
{
    /// <summary>Nothing (shutdown: a restarted process continues the series).</summary>
    None,

    /// <summary>Staleness markers now.</summary>
    Immediate,

    /// <summary>Staleness markers at the next scheduled scrape time, written after one more interval (a removed target).</summary>
    Deferred,
}

internal sealed class ScrapeLoop
{
    /// <summary>The Accept header Prometheus 2.42 sends: OpenMetrics preferred, then text 0.0.4 (checked against the real server in the tests).</summary>
    public const string AcceptHeader = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    // First body buffer; later scrapes start from the previous body's size, as Prometheus does.
    private const int InitialBodyBuffer = 16 * 1024;

    private static readonly string UserAgent = "Metrics.Coordination/" + (typeof(ScrapeLoop).Assembly.GetName().Version?.ToString(3) ?? "0");

    private static readonly string[] ReportNames =
    [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ];

    private readonly ScrapeJobOptions _job;
    private readonly Relabeler _metricRelabeler;
    private readonly IAppendable _storage;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _tolerance;
    private readonly ulong _offsetSeed;
    private readonly SeriesCache _cache = new();
    private readonly Labels[] _reportLabels;
    private readonly SeriesRef[] _reportRefs = new SeriesRef[ReportNames.Length];
    private readonly string _timeoutHeader;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _statusLock = new();

    private byte[] _keyScratch = new byte[256];
    private int _lastBodySize = InitialBodyBuffer;
    private long _iteration;
    private long _previousIteration = -1;
    private long _lastAppendMs = long.MinValue;
    private bool _reported;
    private Task? _task;
    private ScrapeTargetStatus _status;

    public ScrapeLoop(ScrapeTarget target, ScrapeJobOptions job, Relabeler metricRelabeler, IAppendable storage, HttpClient http, TimeProvider time, ILogger logger, TimeSpan tolerance, ulong offsetSeed)
    {
        Target = target;
        _job = job;
        _metricRelabeler = metricRelabeler;
        _storage = storage;
        _http = http;
        _time = time;
        _logger = logger;
        _tolerance = tolerance;
        _offsetSeed = offsetSeed;
        _reportLabels = [.. ReportNames.Select(n => MutateReportLabels(Labels.FromStrings(Labels.MetricName, n), target.Labels))];
        _timeoutHeader = job.EffectiveTimeout.TotalSeconds.ToString("R", CultureInfo.InvariantCulture);
        _status = new ScrapeTargetStatus
        {
            Job = job.JobName,
            Url = target.Url,
            Labels = target.Labels,
            DiscoveredLabels = target.DiscoveredLabels,
            Health = ScrapeHealth.Unknown,
        };
    }

    public ScrapeTarget Target { get; }

    public ScrapeTargetStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    public void Start() => _task = RunAsync(_stop.Token);

    /// <summary>
    /// Stops the loop. <see cref="EndOfRunStaleness.Immediate"/> marks every series it exposed stale now;
    /// <see cref="EndOfRunStaleness.Deferred"/> does what Prometheus does for a removed target: waits until the next
    /// scrape would have run (the markers' timestamp), one more interval and 10 %, then writes the markers, so a
    /// target that comes straight back (a reshard, a reload) keeps its series (the late markers are then out of
    /// order and refused). Cancelling <paramref name="shutdown"/> while waiting skips the markers, as Prometheus
    /// skips them when it shuts down.
    /// </summary>
    public async Task StopAsync(EndOfRunStaleness staleness, CancellationToken shutdown = default)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_task is not null)
        {
            try
            {
                await _task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
        if (staleness == EndOfRunStaleness.None || !_reported)
        {
            return;
        }

        var staleMs = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastAppendMs + 1);
        if (staleness == EndOfRunStaleness.Deferred)
        {
            var interval = _job.ScrapeInterval;
            var staleTime = DateTimeOffset.FromUnixTimeMilliseconds(_lastAppendMs) + interval;
            var wait = staleTime + interval + (interval / 10) - _time.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, shutdown).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            staleMs = staleTime.ToUnixTimeMilliseconds();
        }

        WriteEndOfRunStaleness(staleMs);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var interval = _job.ScrapeInterval;
        var now = _time.GetUtcNow();
        var offset = Target.Offset(interval, _offsetSeed, (now.ToUnixTimeMilliseconds() * 1_000_000) + ((now.Ticks % TimeSpan.TicksPerMillisecond) * 100));
        var next = now + offset;
        var tolerance = _tolerance > interval / 100 ? interval / 100 : _tolerance;
        var snapper = new ScrapeTimestampSnapper((long)tolerance.TotalMilliseconds);
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = next - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }

            var scrapeTime = _time.GetUtcNow();
            if (snapper.ToleranceMs > 0)
            {
                // Timestamp snapping: a scrape within the tolerance of its schedule is stored at the scheduled time,
                // so timestamp deltas stay constant and the chunk's delta-of-delta costs one bit.
                var actualMs = scrapeTime.ToUnixTimeMilliseconds();
                var snappedMs = snapper.Snap(actualMs, next.ToUnixTimeMilliseconds());
                if (snappedMs != actualMs)
                {
                    scrapeTime = DateTimeOffset.FromUnixTimeMilliseconds(snappedMs);
                }
            }

            try
            {
                await ScrapeAndReportAsync(scrapeTime, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                ScrapeLog.LoopError(_logger, _job.JobName, Target.Url.ToString(), ex);
            }

            next += interval;
            var current = _time.GetUtcNow();
            if (next <= current)
            {
                // Missed ticks (a slow scrape, a paused process): skip them, keeping the phase.
                var behind = current - next;
                next += TimeSpan.FromTicks(((behind.Ticks / interval.Ticks) + 1) * interval.Ticks);
            }
        }
    }

    /// <summary>One scrape: fetch, parse and append, report, staleness. Internal for tests driving it directly.</summary>
    internal async Task ScrapeAndReportAsync(DateTimeOffset scrapeTime, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var appendMs = scrapeTime.ToUnixTimeMilliseconds();
        byte[]? body = null;
        var length = 0;
        string? contentType = null;
        string? scrapeError = null;
        try
        {
            (body, length, contentType) = await FetchAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            scrapeError = "context deadline exceeded";
        }
        catch (ScrapeException ex)
        {
            scrapeError = ex.Message;
        }
        catch (HttpRequestException ex)
        {
            scrapeError = ex.InnerException?.Message is { } inner ? $"{ex.Message} ({inner})" : ex.Message;
        }
        catch (IOException ex)
        {
            scrapeError = ex.Message;
        }

        try
        {
            AppendResult result = default;
            var appender = _storage.Appender();
            string? appendError = null;
            if (scrapeError is null)
            {
                result = Append(appender, body.AsSpan(0, length), contentType, appendMs, out appendError);
                if (appendError is not null)
                {
                    appender.Rollback();
                    appender = _storage.Appender();
                }
            }

            if (scrapeError is not null || appendError is not null)
            {
                // A failed scrape is an empty scrape: every series of the last one goes stale.
                AppendStale(appender, appendMs, failed: true);
            }

            _previousIteration = _iteration;
            _iteration++;
            _cache.Evict(_iteration);
            var error = scrapeError ?? appendError;
            var duration = _time.GetElapsedTime(start);
            Report(appender, appendMs, duration, result, error is null);
            appender.Commit();
            _lastAppendMs = appendMs;
            _reported = true;

            if (error is not null)
            {
                ScrapeLog.ScrapeFailed(_logger, _job.JobName, Target.Url.ToString(), error);
            }

            UpdateStatus(scrapeTime, duration, result, error);
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    private async Task<(byte[] Body, int Length, string? ContentType)> FetchAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_job.EffectiveTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, Target.Url);
        request.Headers.TryAddWithoutValidation("Accept", AcceptHeader);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.TryAddWithoutValidation("X-Prometheus-Scrape-Timeout-Seconds", _timeoutHeader);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new ScrapeException($"server returned HTTP status {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        var contentType = response.Content.Headers.ContentType?.ToString();
        var limit = _job.BodySizeLimit > 0 ? _job.BodySizeLimit : long.MaxValue;
        var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(_lastBodySize + 1, 4096));
            var length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var n = await stream.ReadAsync(buffer.AsMemory(length), linked.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    length += n;
                    if (length > limit)
                    {
                        throw new ScrapeException("body size limit exceeded");
                    }
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            if (length > 0)
            {
                _lastBodySize = length;
            }

            return (buffer, length, contentType);
        }
    }

    private AppendResult Append(IAppender appender, ReadOnlySpan<byte> body, string? contentType, long appendMs, out string? error)
    {
        error = null;
        var result = default(AppendResult);
        var iteration = _iteration;
        var format = ExpositionParser.DetectFormat(contentType);
        var reader = new ExpositionReader(body, format);
        var refused = 0;
        string? firstRefusal = null;
        var sampleLimitExceeded = false;
        try
        {
            while (reader.Read())
            {
                if (reader.Kind != ExpositionEntryKind.Sample)
                {
                    continue;
                }

                result.Scraped++;
                var key = BuildKey(ref reader);
                var isNew = false;
                if (!_cache.TryGet(key, out var entry))
                {
                    var labels = BuildSeriesLabels(ref reader, out var labelError);
                    if (labelError is not null)
                    {
                        error = labelError;
                        return result;
                    }

                    entry = _cache.Add(key, labels);
                    isNew = true;
                }

                entry.Touched = iteration;
                if (entry.Labels is null)
                {
                    continue;
                }

                result.PostRelabel++;
                if (_job.SampleLimit > 0 && result.PostRelabel > _job.SampleLimit)
                {
                    // Keep counting, as Prometheus does, so the report shows how many there were.
                    sampleLimitExceeded = true;
                    continue;
                }

                var explicitTimestamp = _job.HonorTimestamps ? reader.TimestampMs : null;
                try
                {
                    entry.Ref = appender.Append(new AppendRequest
                    {
                        Ref = entry.Ref,
                        Labels = entry.Labels,
                        TimestampMs = explicitTimestamp ?? appendMs,
                        Value = reader.Value,
                    });
                    if (isNew)
                    {
                        result.SeriesAdded++;
                    }
                }
                catch (StorageException ex)
                {
                    refused++;
                    firstRefusal ??= $"{ex.Message} (series {entry.Labels})";
                }

                if (explicitTimestamp is null)
                {
                    if (entry.Seen != iteration)
                    {
                        entry.PreviousSeen = entry.Seen;
                        entry.Seen = iteration;
                    }
                }
            }
        }
        catch (ExpositionParseException ex)
        {
            ScrapeLog.ParseFailed(_logger, _job.JobName, Target.Url.ToString(), ex.Line, ex.Column, ex.Reason);
            Interlocked.Increment(ref _parseErrors);
            error = $"{ex.Reason} (line {ex.Line.ToString(CultureInfo.InvariantCulture)}, column {ex.Column.ToString(CultureInfo.InvariantCulture)})";
            return result;
        }
        finally
        {
            reader.Dispose();
        }

        if (refused > 0)
        {
            ScrapeLog.SamplesRefused(_logger, _job.JobName, Target.Url.ToString(), refused, firstRefusal!);
            Interlocked.Add(ref _refusedSamples, refused);
        }

        if (sampleLimitExceeded)
        {
            error = "sample limit exceeded";
            return result;
        }

        AppendStale(appender, appendMs, failed: false);
        return result;
    }

    private long _parseErrors;
    private long _refusedSamples;

    /// <summary>Staleness markers for series the previous scrape saw and this one did not (all of them when it failed).</summary>
    private void AppendStale(IAppender appender, long appendMs, bool failed)
    {
        var previous = _previousIteration;
        var current = _iteration;
        if (previous < 0)
        {
            return;
        }

        foreach (var entry in _cache.Entries)
        {
            if (entry.Labels is null)
            {
                continue;
            }

            var wasInPrevious = entry.Seen == previous || (entry.Seen == current && entry.PreviousSeen == previous);
            var goneNow = failed ? wasInPrevious : entry.Seen == previous;
            if (!goneNow)
            {
                continue;
            }

            try
            {
                entry.Ref = appender.Append(new AppendRequest { Ref = entry.Ref, Labels = entry.Labels, TimestampMs = appendMs, Value = StaleMarker.Value });
            }
            catch (StorageException)
            {
                // A marker older than the series' last sample (an exposed timestamp ahead of the scrape): nothing to mark.
            }

            if (failed)
            {
                entry.Seen = -1;
                entry.PreviousSeen = -1;
            }
        }
    }

    private void Report(IAppender appender, long appendMs, TimeSpan duration, AppendResult result, bool healthy)
    {
        ReadOnlySpan<double> values =
        [
            healthy ? 1 : 0,
            duration.TotalSeconds,
            result.Scraped,
            result.PostRelabel,
            result.SeriesAdded,
        ];
        for (var i = 0; i < _reportLabels.Length; i++)
        {
            try
            {
                _reportRefs[i] = appender.Append(new AppendRequest { Ref = _reportRefs[i], Labels = _reportLabels[i], TimestampMs = appendMs, Value = values[i] });
            }
            catch (StorageException ex)
            {
                ScrapeLog.AppendFailed(_logger, _job.JobName, Target.Url.ToString(), "report sample refused: " + ex.Message);
            }
        }
    }

    private void WriteEndOfRunStaleness(long ts)
    {
        try
        {
            var appender = _storage.Appender();
            AppendStale(appender, ts, failed: true);
            for (var i = 0; i < _reportLabels.Length; i++)
            {
                try
                {
                    appender.Append(new AppendRequest { Ref = _reportRefs[i], Labels = _reportLabels[i], TimestampMs = ts, Value = StaleMarker.Value });
                }
                catch (StorageException)
                {
                }
            }

            appender.Commit();
        }
        catch (Exception ex) when (ex is StorageException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            ScrapeLog.StalenessFailed(_logger, _job.JobName, Target.Url.ToString(), ex);
        }
    }

    private void UpdateStatus(DateTimeOffset scrapeTime, TimeSpan duration, AppendResult result, string? error)
    {
        lock (_statusLock)
        {
            _status = _status with
            {
                Health = error is null ? ScrapeHealth.Up : ScrapeHealth.Down,
                LastError = error ?? string.Empty,
                LastScrape = scrapeTime,
                LastScrapeDuration = duration,
                LastSamplesScraped = result.Scraped,
                Scrapes = _status.Scrapes + 1,
                FailedScrapes = _status.FailedScrapes + (error is null ? 0 : 1),
                ParseErrors = Interlocked.Read(ref _parseErrors),
                RefusedSamples = Interlocked.Read(ref _refusedSamples),
            };
        }
    }

    /// <summary>The raw identity of the current sample: name, then name/value pairs in written order, 0xFF-separated (never in UTF-8).</summary>
    private ReadOnlySpan<byte> BuildKey(ref ExpositionReader reader)
    {
        var name = reader.MetricNameUtf8;
        var needed = name.Length + 1;
        for (var i = 0; i < reader.LabelCount; i++)
        {
            needed += reader.GetLabelNameUtf8(i).Length + reader.GetLabelValueUtf8(i).Length + 2;
        }

        if (needed > _keyScratch.Length)
        {
            _keyScratch = new byte[Math.Max(needed, _keyScratch.Length * 2)];
        }

        var span = _keyScratch.AsSpan();
        name.CopyTo(span);
        var pos = name.Length;
        span[pos++] = 0xFF;
        for (var i = 0; i < reader.LabelCount; i++)
        {
            var n = reader.GetLabelNameUtf8(i);
            n.CopyTo(span[pos..]);
            pos += n.Length;
            span[pos++] = 0xFE;
            var v = reader.GetLabelValueUtf8(i);
            v.CopyTo(span[pos..]);
            pos += v.Length;
            span[pos++] = 0xFF;
        }

        return span[..pos];
    }

    /// <summary>The stored labels for a newly seen series (null when relabeling drops it); an error fails the scrape.</summary>
    private Labels? BuildSeriesLabels(ref ExpositionReader reader, out string? error)
    {
        error = null;
        var exposed = reader.GetLabels().With(Labels.MetricName, reader.GetMetricName());
        var lset = MutateSampleLabels(exposed, Target.Labels, _job.HonorLabels);
        var relabeled = _metricRelabeler.IsEmpty ? lset : _metricRelabeler.Process(lset);
        if (relabeled is null)
        {
            return null;
        }

        relabeled = WithoutEmpty(relabeled);
        if (relabeled.Count == 0)
        {
            return null;
        }

        var name = relabeled.Name;
        if (name.Length == 0)
        {
            error = "missing metric name (__name__ label)";
            return null;
        }

        if (_job.LabelLimit > 0 && relabeled.Count > _job.LabelLimit)
        {
            error = string.Create(CultureInfo.InvariantCulture, $"label_limit exceeded (metric: {Trunc(name)}, number of labels: {relabeled.Count}, limit: {_job.LabelLimit})");
            return null;
        }

        foreach (var l in relabeled.AsSpan())
        {
            if (_job.LabelNameLengthLimit > 0 && l.Name.Length > _job.LabelNameLengthLimit)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"label_name_length_limit exceeded (metric: {Trunc(name)}, label name: {Trunc(l.Name)}, length: {l.Name.Length}, limit: {_job.LabelNameLengthLimit})");
                return null;
            }

            if (_job.LabelValueLengthLimit > 0 && l.Value.Length > _job.LabelValueLengthLimit)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"label_value_length_limit exceeded (metric: {Trunc(name)}, label name: {Trunc(l.Name)}, value: \"{Trunc(l.Value)}\", length: {l.Value.Length}, limit: {_job.LabelValueLengthLimit})");
                return null;
            }
        }

        return relabeled;
    }

    private static string Trunc(string s) => s.Length <= 50 ? s : s[..50];

    /// <summary>Prometheus's <c>mutateSampleLabels</c> without the relabeling step.</summary>
    internal static Labels MutateSampleLabels(Labels exposed, Labels target, bool honorLabels)
    {
        var d = new Dictionary<string, string>(exposed.Count + target.Count, StringComparer.Ordinal);
        foreach (var l in exposed.AsSpan())
        {
            d[l.Name] = l.Value;
        }

        if (honorLabels)
        {
            foreach (var l in target.AsSpan())
            {
                if (!exposed.Has(l.Name))
                {
                    d[l.Name] = l.Value;
                }
            }
        }
        else
        {
            List<Label>? conflicts = null;
            foreach (var l in target.AsSpan())
            {
                var existing = exposed.Get(l.Name);
                if (existing.Length > 0)
                {
                    (conflicts ??= []).Add(new Label(l.Name, existing));
                }

                d[l.Name] = l.Value;
            }

            if (conflicts is not null)
            {
                // Shorter names first (stable), each prefixed with exported_ until it collides with nothing.
                var ordered = conflicts.Select((c, i) => (c, i)).OrderBy(x => x.c.Name.Length).ThenBy(x => x.i).Select(x => x.c).ToList();
                var renamed = new List<string>();
                foreach (var c in ordered)
                {
                    var newName = c.Name;
                    do
                    {
                        newName = "exported_" + newName;
                    }
                    while (exposed.Has(newName) || target.Has(newName) || renamed.Contains(newName));

                    renamed.Add(newName);
                    d[newName] = c.Value;
                }
            }
        }

        return Labels.From([.. d.Select(kv => new Label(kv.Key, kv.Value))]);
    }

    /// <summary>Prometheus's <c>mutateReportSampleLabels</c>: target labels added; a clash renames the report's own label to exported_.</summary>
    private static Labels MutateReportLabels(Labels report, Labels target)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in report.AsSpan())
        {
            d[l.Name] = l.Value;
        }

        foreach (var l in target.AsSpan())
        {
            if (report.Get(l.Name) is { Length: > 0 } existing)
            {
                d["exported_" + l.Name] = existing;
            }

            d[l.Name] = l.Value;
        }

        return WithoutEmpty(Labels.From([.. d.Select(kv => new Label(kv.Key, kv.Value))]));
    }

    private static Labels WithoutEmpty(Labels labels)
    {
        foreach (var l in labels.AsSpan())
        {
            if (l.Value.Length == 0)
            {
                return Labels.From([.. labels.Where(x => x.Value.Length > 0)]);
            }
        }

        return labels;
    }

    private struct AppendResult
    {
        public int Scraped;
        public int PostRelabel;
        public int SeriesAdded;
    }

    private sealed class ScrapeException(string message) : Exception(message);
}
