using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Registry.Tests;

public class ExemplarTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250);

    // Activities named "unsampled" are created but not recorded (a parent-based sampler saying "propagate only").
    private const string SourceName = "Metrics.Coordination.Registry.Tests.Exemplars";
    private static readonly ActivitySource Source = new(SourceName);
    private ActivityListener _listener = null!;

    [OneTimeSetUp]
    public void Listen()
    {
        _listener = new ActivityListener
        {
            // By name: comparing with the static field would race its lazy initialisation.
            ShouldListenTo = s => s.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                o.Name == "unsampled" ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [OneTimeTearDown]
    public void StopListening() => _listener.Dispose();

    private static (MetricRegistry Registry, FakeTimeProvider Time) NewRegistry(Action<MetricRegistryOptions>? configure = null)
    {
        var time = new FakeTimeProvider(Start);
        var options = new MetricRegistryOptions { ExposeSelfMetrics = false, TimeProvider = time };
        configure?.Invoke(options);
        return (new MetricRegistry(options), time);
    }

    private static Activity StartActivity(string name = "work") =>
        Source.StartActivity(name) ?? throw new InvalidOperationException("The test listener did not create the activity.");

    [Test]
    public void WriteTo_OpenMetrics_ExemplarsOnTotalAndBucketLines_MatchesSnapshot()
    {
        var (r, time) = NewRegistry();
        var c = r.CreateCounter("requests_total", "Requests.", "code");
        c.WithLabels("200").Inc(2, Labels.FromStrings("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"));
        r.CreateCounter("retries_total", "Retries.").Inc(0.5, new Exemplar(Labels.FromStrings("trace_id", "00f067aa0ba902b7", "user", "ü🙂"), 7, 1_600_000_000_000));
        var h = r.CreateHistogram("latency_seconds", "Latency.", new HistogramOptions { Buckets = [0.1, 1], Unit = "seconds" });
        h.Observe(0.05, Labels.FromStrings("trace_id", "a"));
        time.Advance(TimeSpan.FromMilliseconds(5));
        h.Observe(0.07, Labels.FromStrings("trace_id", "b"));
        h.Observe(0.5);
        h.Observe(3, Labels.Empty);

        r.ToText(ExpositionFormat.OpenMetrics).Should().Be(
            """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            # UNIT latency_seconds seconds
            latency_seconds_bucket{le="0.1"} 2 # {trace_id="b"} 0.07 1700000000.255
            latency_seconds_bucket{le="1.0"} 3
            latency_seconds_bucket{le="+Inf"} 4 # {} 3 1700000000.255
            latency_seconds_sum 3.62
            latency_seconds_count 4
            latency_seconds_created 1700000000.25
            # HELP requests Requests.
            # TYPE requests counter
            requests_total{code="200"} 2 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 2 1700000000.25
            requests_created{code="200"} 1700000000.25
            # HELP retries Retries.
            # TYPE retries counter
            retries_total 0.5 # {trace_id="00f067aa0ba902b7",user="ü🙂"} 7 1600000000
            retries_created 1700000000.25
            # EOF

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void WriteTo_PrometheusText_HasNoExemplars()
    {
        var (r, _) = NewRegistry();
        r.CreateCounter("requests_total", "Requests.").Inc(1, Labels.FromStrings("trace_id", "x"));
        r.CreateHistogram("latency_seconds", "Latency.", new HistogramOptions { Buckets = [1] }).Observe(0.5, Labels.FromStrings("trace_id", "y"));

        r.ToText().Should().Be(
            """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="1"} 1
            latency_seconds_bucket{le="+Inf"} 1
            latency_seconds_sum 0.5
            latency_seconds_count 1
            # HELP requests_total Requests.
            # TYPE requests_total counter
            requests_total 1

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void WriteTo_OpenMetrics_ParsesBackWithTheSameExemplars()
    {
        var (r, _) = NewRegistry();
        var labels = Labels.FromStrings("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "span_id", "00f067aa0ba902b7");
        r.CreateCounter("jobs_total", "Jobs.").Inc(3, labels);
        r.CreateHistogram("size_bytes", "Sizes.", new HistogramOptions { Buckets = [10, 100] }).Observe(42, labels);

        var families = ExpositionParser.Parse(r.ToText(ExpositionFormat.OpenMetrics), ExpositionFormat.OpenMetrics);

        var samples = families.SelectMany(f => f.Samples).Where(s => s.Exemplar is not null).ToList();
        samples.Select(s => (s.Name, s.Labels.Get("le"), s.Exemplar)).Should().BeEquivalentTo(
        [
            ("jobs_total", string.Empty, new Exemplar(labels, 3, Start.ToUnixTimeMilliseconds())),
            ("size_bytes_bucket", "100.0", new Exemplar(labels, 42, Start.ToUnixTimeMilliseconds())),
        ]);
    }

    [Test]
    public void Observe_SameBucketTwice_LatestExemplarWins_OtherBucketsKeepTheirs()
    {
        var (r, time) = NewRegistry();
        var h = r.CreateHistogram("h", "H.", new HistogramOptions { Buckets = [1, 2] }).WithLabels();
        h.Observe(0.5, Labels.FromStrings("id", "first"));
        h.Observe(1.5, Labels.FromStrings("id", "middle"));
        time.Advance(TimeSpan.FromSeconds(1));
        h.Observe(0.7, Labels.FromStrings("id", "second"));

        var exemplars = h.GetBucketExemplars();

        exemplars.Should().HaveCount(3);
        exemplars[0].Should().Be(new Exemplar(Labels.FromStrings("id", "second"), 0.7, Start.ToUnixTimeMilliseconds() + 1000));
        exemplars[1].Should().Be(new Exemplar(Labels.FromStrings("id", "middle"), 1.5, Start.ToUnixTimeMilliseconds()));
        exemplars[2].Should().BeNull();
    }

    [Test]
    public void Inc_ExemplarWithoutTimestamp_GetsTheRegistryClock()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();

        c.Inc(1, new Exemplar(Labels.FromStrings("id", "1"), 9));

        c.Exemplar.Should().Be(new Exemplar(Labels.FromStrings("id", "1"), 9, Start.ToUnixTimeMilliseconds()));
        c.Value.Should().Be(1);
    }

    [Test]
    public void Inc_LabelsOnly_AddsOneWithExemplarValueOne()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();

        c.Inc(Labels.FromStrings("id", "1"));

        c.Value.Should().Be(1);
        c.Exemplar!.Value.Should().Be(1);
    }

    [Test]
    public void Inc_ExemplarLabelsOf128Characters_Accepted_129_Rejected()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();

        // 8 + 120 = 128 code points; the emoji is one code point (two UTF-16 chars, four UTF-8 bytes).
        var exactly = new string('a', 119) + "🙂";
        c.Inc(1, Labels.FromStrings("trace_id", exactly));
        c.Exemplar!.Labels.Get("trace_id").Should().Be(exactly);

        var act = () => c.Inc(1, Labels.FromStrings("trace_id", exactly + "b"));
        act.Should().Throw<ArgumentException>()
            .WithParameterName("exemplarLabels")
            .WithMessage("*129 UTF-8 characters*at most 128*");
        c.Value.Should().Be(1, "a refused exemplar records nothing");
    }

    [TestCase("trace-id", NameValidation.Legacy, "*not a valid legacy label name*")]
    [TestCase("1abc", NameValidation.Legacy, "*not a valid legacy label name*")]
    [TestCase("__reserved", NameValidation.Utf8, "*starts with '__'*")]
    [TestCase("bad{surrogate}", NameValidation.Utf8, "*not a valid UTF-8 label name*")]
    public void Observe_InvalidExemplarLabelName_ThrowsNamingIt(string name, NameValidation validation, string message)
    {
        // An unpaired surrogate cannot live in attribute metadata (stored as UTF-8), so it is put in here.
        name = name.Replace("{surrogate}", "\ud800", StringComparison.Ordinal);
        var (r, _) = NewRegistry(o => o.NameValidation = validation);
        var h = r.CreateHistogram("h", "H.");

        var act = () => h.Observe(1, Labels.FromStrings(name, "v"));

        act.Should().Throw<ArgumentException>().WithParameterName("exemplarLabels").WithMessage(message);
        h.WithLabels().Count.Should().Be(0);
    }

    [Test]
    public void Inc_ExemplarValueWithUnpairedSurrogate_Throws()
    {
        var (r, _) = NewRegistry();

        var act = () => r.CreateCounter("c_total", "C.").Inc(1, Labels.FromStrings("id", "x\udc00"));

        act.Should().Throw<ArgumentException>().WithMessage("*exemplar label 'id'*not valid UTF-8*");
    }

    [Test]
    public void Inc_Utf8ExemplarLabelName_IsEscapedForLegacyScrapers()
    {
        var (r, _) = NewRegistry();
        r.CreateCounter("c_total", "C.").Inc(1, Labels.FromStrings("trace.id", "x"));

        r.ToText(ExpositionFormat.OpenMetrics).Should().Contain("c_total 1 # {trace_id=\"x\"} 1 1700000000.25\n");
        r.ToText(ExpositionFormat.OpenMetrics, NameEscaping.AllowUtf8).Should().Contain("c_total 1 # {\"trace.id\"=\"x\"} 1 1700000000.25\n");
    }

    [Test]
    public void Inc_InsideRecordedActivity_AttachesTraceAndSpanIds()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.", "route").WithLabels("/a");
        using var activity = StartActivity();

        c.Inc();

        c.Exemplar.Should().Be(new Exemplar(
            Labels.FromStrings("trace_id", activity.TraceId.ToHexString(), "span_id", activity.SpanId.ToHexString()),
            1,
            Start.ToUnixTimeMilliseconds()));
        r.ToText(ExpositionFormat.OpenMetrics).Should().Contain(
            $"c_total{{route=\"/a\"}} 1 # {{span_id=\"{activity.SpanId.ToHexString()}\",trace_id=\"{activity.TraceId.ToHexString()}\"}} 1 1700000000.25\n");
    }

    [Test]
    public void Observe_InsideRecordedActivity_AttachesToTheBucketOfTheValue()
    {
        var (r, _) = NewRegistry();
        var h = r.CreateHistogram("h", "H.", new HistogramOptions { Buckets = [1, 2] }).WithLabels();
        using var activity = StartActivity();

        h.Observe(1.5);

        var exemplars = h.GetBucketExemplars();
        exemplars[0].Should().BeNull();
        exemplars[1]!.Labels.Get("trace_id").Should().Be(activity.TraceId.ToHexString());
        exemplars[1]!.Value.Should().Be(1.5);
        exemplars[2].Should().BeNull();
    }

    [Test]
    public void Timer_InsideRecordedActivity_AttachesTheElapsedSeconds()
    {
        var (r, time) = NewRegistry();
        var h = r.CreateHistogram("h", "H.", new HistogramOptions { Buckets = [1, 2] }).WithLabels();
        using var activity = StartActivity();

        using (h.StartTimer())
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
        }

        h.GetBucketExemplars()[0]!.Value.Should().Be(0.25);
    }

    [Test]
    public void Inc_ActivityNotRecorded_NoExemplar()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();
        using var activity = StartActivity("unsampled");
        activity.Recorded.Should().BeFalse();

        c.Inc();

        c.Exemplar.Should().BeNull();
    }

    [Test]
    public void Inc_NoActivity_NoExemplar()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();
        var h = r.CreateHistogram("h", "H.").WithLabels();
        Activity.Current.Should().BeNull();

        c.Inc();
        h.Observe(1);

        c.Exemplar.Should().BeNull();
        h.GetBucketExemplars().Should().OnlyContain(e => e == null);
        r.ToText(ExpositionFormat.OpenMetrics).Should().NotContain(" # {");
    }

    [TestCase(true, false)]
    [TestCase(false, true)]
    public void Inc_BehaviorNone_InRegistryOrMetric_NoAutomaticExemplar(bool registryNone, bool metricNone)
    {
        var (r, _) = NewRegistry(o => o.ExemplarBehavior = registryNone ? ExemplarBehavior.None : ExemplarBehavior.TraceContext);
        var c = r.CreateCounter("c_total", "C.", new CounterOptions { ExemplarBehavior = metricNone ? ExemplarBehavior.None : null }).WithLabels();
        var h = r.CreateHistogram("h", "H.", new HistogramOptions { ExemplarBehavior = metricNone ? ExemplarBehavior.None : null }).WithLabels();
        using var activity = StartActivity();

        c.Inc();
        h.Observe(1);

        c.Exemplar.Should().BeNull();
        h.GetBucketExemplars().Should().OnlyContain(e => e == null);

        // Explicit exemplars still work.
        c.Inc(1, Labels.FromStrings("id", "x"));
        c.Exemplar.Should().NotBeNull();
    }

    [Test]
    public void Inc_MetricTraceContext_OverridesRegistryNone()
    {
        var (r, _) = NewRegistry(o => o.ExemplarBehavior = ExemplarBehavior.None);
        var c = r.CreateCounter("c_total", "C.", new CounterOptions { ExemplarBehavior = ExemplarBehavior.TraceContext }).WithLabels();
        using var activity = StartActivity();

        c.Inc();

        c.Exemplar.Should().NotBeNull();
    }

    [Test]
    public void Inc_AutomaticExemplars_AtMostOnePerIntervalPerSeries()
    {
        var (r, time) = NewRegistry(o => o.AutomaticExemplarInterval = TimeSpan.FromMilliseconds(100));
        var c = r.CreateCounter("c_total", "C.").WithLabels();

        string first;
        using (var a = StartActivity())
        {
            first = a.TraceId.ToHexString();
            c.Inc();
        }

        using (StartActivity())
        {
            time.Advance(TimeSpan.FromMilliseconds(99));
            c.Inc(2L);
        }

        c.Exemplar!.Labels.Get("trace_id").Should().Be(first, "the second increment came within the interval");
        c.Exemplar.Value.Should().Be(1);

        string third;
        using (var a = StartActivity())
        {
            third = a.TraceId.ToHexString();
            time.Advance(TimeSpan.FromMilliseconds(1));
            c.Inc(2.5);
        }

        c.Exemplar!.Labels.Get("trace_id").Should().Be(third);
        c.Exemplar.Value.Should().Be(2.5);
        c.Exemplar.TimestampMs.Should().Be(Start.ToUnixTimeMilliseconds() + 100);
    }

    [Test]
    public void Observe_AutomaticExemplars_RateLimitedPerBucket()
    {
        var (r, _) = NewRegistry(o => o.AutomaticExemplarInterval = TimeSpan.FromSeconds(1));
        var h = r.CreateHistogram("h", "H.", new HistogramOptions { Buckets = [1, 2] }).WithLabels();
        using var first = StartActivity();
        h.Observe(0.5);
        using var second = StartActivity();

        h.Observe(0.6);
        h.Observe(1.5);

        var exemplars = h.GetBucketExemplars();
        exemplars[0]!.Value.Should().Be(0.5, "bucket 0 took an exemplar within the interval already");
        exemplars[1]!.Value.Should().Be(1.5, "a slow observation still gets its own bucket's exemplar");
        exemplars[1]!.Labels.Get("span_id").Should().Be(second.SpanId.ToHexString());
    }

    [Test]
    public void Inc_ExplicitExemplars_AreNotRateLimited()
    {
        var (r, _) = NewRegistry(o => o.AutomaticExemplarInterval = TimeSpan.FromHours(1));
        var c = r.CreateCounter("c_total", "C.").WithLabels();

        c.Inc(1, Labels.FromStrings("id", "1"));
        c.Inc(1, Labels.FromStrings("id", "2"));

        c.Exemplar!.Labels.Get("id").Should().Be("2");
    }

    [Test]
    public void Recording_SteadyState_AllocatesNothing_WithActivityAndWithExplicitLabels()
    {
        var (r, time) = NewRegistry(o => o.AutomaticExemplarInterval = TimeSpan.Zero);
        var c = r.CreateCounter("c_total", "C.").WithLabels();
        var h = r.CreateHistogram("h", "H.").WithLabels();
        var labels = Labels.FromStrings("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
        using var activity = StartActivity();

        void Record()
        {
            for (var i = 0; i < 1000; i++)
            {
                c.Inc();
                h.Observe(i * 0.001);
                c.Inc(1, labels);
                h.Observe(i * 0.01, labels);
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        Record();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Record();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        c.Exemplar.Should().NotBeNull();
    }

    [Test]
    public void Scrape_UnchangedExemplar_IsReused()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();
        c.Inc(1, Labels.FromStrings("id", "1"));

        var first = c.Exemplar;

        c.Exemplar.Should().BeSameAs(first);
        c.Inc(1, Labels.FromStrings("id", "2"));
        c.Exemplar.Should().NotBeSameAs(first);
    }

    [Test]
    public void Recording_ConcurrentExemplarWritersAndScrapes_AlwaysReadConsistentExemplars()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "C.").WithLabels();
        var labels = Enumerable.Range(0, 8).Select(i => Labels.FromStrings("id", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var writers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                // The value always equals the id, so a torn read would show a mismatch.
                c.Inc(i % 8, labels[i % 8]);
                i++;
            }
        })).ToArray();

        var reads = 0;
        while (!stop.IsCancellationRequested)
        {
            var e = c.Exemplar;
            if (e is not null)
            {
                e.Labels.Get("id").Should().Be(((int)e.Value).ToString(System.Globalization.CultureInfo.InvariantCulture));
                reads++;
            }
        }

        Task.WaitAll(writers);
        reads.Should().BeGreaterThan(0);
    }

    [Test]
    public void MetricRegistry_NegativeAutomaticInterval_Throws()
    {
        var act = () => new MetricRegistry(new MetricRegistryOptions { AutomaticExemplarInterval = TimeSpan.FromMilliseconds(-1) });

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*interval*");
    }
}
