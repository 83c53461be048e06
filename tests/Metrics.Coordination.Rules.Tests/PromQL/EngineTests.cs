using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Rules.Tests.PromQL;

public class EngineTests
{
    private static InMemoryPromQLStorage Storage(int series, int samples, long intervalMs = 15_000)
    {
        var storage = new InMemoryPromQLStorage();
        var app = storage.Appender();
        for (var s = 0; s < series; s++)
        {
            var labels = Labels.FromStrings("__name__", "x_total", "job", "j" + (s % 3), "instance", "i" + s);
            for (var i = 0; i < samples; i++)
            {
                app.Append(new AppendRequest { Labels = labels, TimestampMs = i * intervalMs, Value = i * (s + 1) });
            }
        }

        app.Commit();
        return storage;
    }

    [Test]
    public void RangeQuery_SelectsEachSelectorOnce_NotOncePerStep()
    {
        using var storage = Storage(5, 100);
        var engine = new PromQLEngine();
        var result = engine.RangeQuery(storage, "sum by (job) (rate(x_total[1m])) + on(job) group_left count by (job) (x_total)", 0, 1_485_000, 15_000);
        result.Matrix.Should().HaveCount(3);
        result.Matrix[0].Points.Should().HaveCount(99, "rate needs two samples, and at t=0 there is one");
        storage.SelectCount.Should().Be(2);
    }

    [Test]
    public void MaxSamples_ExceededGivesPrometheusError()
    {
        using var storage = Storage(10, 100);
        var engine = new PromQLEngine(new PromQLEngineOptions { MaxSamples = 500 });
        var act = () => engine.RangeQuery(storage, "x_total", 0, 1_485_000, 15_000);
        act.Should().Throw<PromQLQueryException>()
            .Where(e => e.Kind == PromQLErrorKind.TooManySamples)
            .WithMessage("query processing would load too many samples into memory in query execution");
        engine.RangeQuery(storage, "x_total", 0, 60_000, 15_000).Matrix.Should().HaveCount(10);
    }

    [Test]
    public void Cancellation_ThrowsOperationCanceled()
    {
        using var storage = Storage(3, 10);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var act = () => new PromQLEngine().InstantQuery(storage, "x_total", 0, cts.Token);
        act.Should().Throw<OperationCanceledException>();
    }

    [Test]
    public void Timeout_GivesTransientQueryError()
    {
        var time = new FakeTimeProvider();
        var storage = new SlowStorage(time, TimeSpan.FromSeconds(3));
        var engine = new PromQLEngine(new PromQLEngineOptions { Timeout = TimeSpan.FromSeconds(2), TimeProvider = time });
        var act = () => engine.InstantQuery(storage, "sum(a) + sum(b)", 0);
        var ex = act.Should().Throw<PromQLQueryException>().Which;
        ex.Kind.Should().Be(PromQLErrorKind.Timeout);
        ex.Message.Should().Be("query timed out in expression evaluation");
        ex.IsTransient.Should().BeTrue();
    }

    [Test]
    public void Errors_AreRaisedAtEvaluation()
    {
        using var storage = new InMemoryPromQLStorage();
        var app = storage.Appender();
        foreach (var l in new[] { "a", "b" })
        {
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "m", "l", l, "k", "1"), TimestampMs = 0, Value = 1 });
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "n", "l", l, "k", "1"), TimestampMs = 0, Value = 1 });
        }

        app.Commit();
        var engine = new PromQLEngine();
        engine.Invoking(e => e.InstantQuery(storage, "m + on(k) n", 0)).Should().Throw<PromQLQueryException>()
            .WithMessage("found duplicate series for the match group {k=\"1\"} on the right hand-side of the operation: *;many-to-many matching not allowed: matching labels must be unique on one side");
        engine.Invoking(e => e.InstantQuery(storage, "m + on(k) group_left n", 0)).Should().Throw<PromQLQueryException>()
            .WithMessage("found duplicate series for the match group*");
        engine.Invoking(e => e.InstantQuery(storage, "abs({__name__=~\"m|n\"})", 0)).Should().Throw<PromQLQueryException>()
            .WithMessage("vector cannot contain metrics with the same labelset");
        engine.Invoking(e => e.RangeQuery(storage, "m[5m]", 0, 60_000, 15_000)).Should().Throw<PromQLQueryException>()
            .WithMessage("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
        engine.Invoking(e => e.InstantQuery(storage, "label_replace(m, \"x\", \"y\", \"l\", \"(\")", 0)).Should().Throw<PromQLQueryException>()
            .WithMessage("invalid regular expression in label_replace(): (*");
    }

    [Test]
    public void InstantQuery_ReturnsTypedResults()
    {
        using var storage = Storage(2, 5);
        var engine = new PromQLEngine();
        var scalar = engine.InstantQuery(storage, "1 + 1", 60_000);
        scalar.Type.Should().Be(PromQLValueType.Scalar);
        scalar.Scalar.Should().Be(2);
        scalar.TimestampMs.Should().Be(60_000);
        engine.InstantQuery(storage, "\"s\"", 0).String.Should().Be("s");
        var vector = engine.InstantQuery(storage, "x_total", 60_000);
        vector.Vector.Should().HaveCount(2).And.OnlyContain(s => s.TimestampMs == 60_000);
        var matrix = engine.InstantQuery(storage, "x_total[1m]", 60_000);
        matrix.Type.Should().Be(PromQLValueType.RangeVector);
        matrix.Matrix.Should().HaveCount(2);
        matrix.Matrix[0].Points.Select(p => p.TimestampMs).Should().Equal(15_000, 30_000, 45_000, 60_000);
        vector.ToString().Should().Contain("x_total{instance=\"i0\", job=\"j0\"} => 4 @[60]");
    }

    [Test]
    public void Options_AreValidated()
    {
        var act = () => new PromQLEngine(new PromQLEngineOptions { LookbackDelta = TimeSpan.Zero });
        act.Should().Throw<ArgumentOutOfRangeException>();
        var act2 = () => new PromQLEngine(new PromQLEngineOptions { MaxSamples = 0 });
        act2.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void DelayedNameRemoval_OffByDefault_DropsNamesImmediately()
    {
        using var storage = Storage(1, 5);
        var engine = new PromQLEngine();
        var r = engine.InstantQuery(storage, "label_replace(rate(x_total[1m]), \"n\", \"$1\", \"__name__\", \"(.*)\")", 60_000);
        r.Vector.Single().Metric.Has("n").Should().BeFalse("the name is already gone when label_replace runs");
        var delayed = new PromQLEngine(new PromQLEngineOptions { EnableDelayedNameRemoval = true });
        var d = delayed.InstantQuery(storage, "label_replace(rate(x_total[1m]), \"n\", \"$1\", \"__name__\", \"(.*)\")", 60_000);
        d.Vector.Single().Metric.Get("n").Should().Be("x_total");
        d.Vector.Single().Metric.Has("__name__").Should().BeFalse();
    }

    /// <summary>A storage whose selects advance a fake clock, to time queries out deterministically.</summary>
    private sealed class SlowStorage(FakeTimeProvider time, TimeSpan perSelect) : Abstractions.Storage.IQueryable
    {
        public IQuerier Querier(long minTimeMs, long maxTimeMs) => new SlowQuerier(time, perSelect);

        private sealed class SlowQuerier(FakeTimeProvider time, TimeSpan perSelect) : IQuerier
        {
            public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
            {
                time.Advance(perSelect);
                return [];
            }

            public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers) => [];

            public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers) => [];

            public void Dispose()
            {
            }
        }
    }
}
