using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Registry.Tests;

public class RegistrationTests
{
    private static MetricRegistry NewRegistry(NameValidation validation = NameValidation.Utf8) =>
        new(new MetricRegistryOptions { ExposeSelfMetrics = false, NameValidation = validation });

    [Test]
    public void CreateCounter_SameDefinitionTwice_ReturnsSameInstance()
    {
        var r = NewRegistry();
        var a = r.CreateCounter("jobs_total", "Jobs.", "queue");
        var b = r.CreateCounter("jobs_total", "Jobs.", "queue");
        var c = r.CreateCounter("jobs", "Jobs.", "queue");
        b.Should().BeSameAs(a);
        c.Should().BeSameAs(a, "a counter's family name is its name without _total");
    }

    [Test]
    public void CreateGauge_NameTakenByCounter_ThrowsNamingBothDefinitions()
    {
        var r = NewRegistry();
        r.CreateCounter("work", "Work done.", "kind");
        var act = () => r.CreateGauge("work", "Work in progress.");
        var ex = act.Should().Throw<MetricRegistrationException>().Which;
        ex.Message.Should().Contain("counter work{kind}").And.Contain("\"Work done.\"").And.Contain("gauge work{}").And.Contain("\"Work in progress.\"");
        ex.ExistingDefinition.Should().StartWith("counter");
        ex.NewDefinition.Should().StartWith("gauge");
    }

    [TestCase("Other help.", new[] { "a" })]
    [TestCase("Help.", new[] { "b" })]
    [TestCase("Help.", new[] { "a", "b" })]
    public void CreateCounter_ConflictingHelpOrLabels_Throws(string help, string[] labels)
    {
        var r = NewRegistry();
        r.CreateCounter("x_total", "Help.", "a");
        var act = () => r.CreateCounter("x_total", help, labels);
        act.Should().Throw<MetricRegistrationException>().WithMessage("*x*already registered*");
    }

    [Test]
    public void CreateHistogram_DifferentBuckets_Throws()
    {
        var r = NewRegistry();
        r.CreateHistogram("lat_seconds", "L.", new HistogramOptions { Buckets = [1, 2] });
        r.CreateHistogram("lat_seconds", "L.", new HistogramOptions { Buckets = [1, 2, double.PositiveInfinity] })
            .Buckets.Should().Equal(1, 2);
        var act = () => r.CreateHistogram("lat_seconds", "L.", new HistogramOptions { Buckets = [1, 3] });
        act.Should().Throw<MetricRegistrationException>().WithMessage("*buckets=1,2*buckets=1,3*");
    }

    [Test]
    public void Create_SampleNamesCollide_Throws()
    {
        var r = NewRegistry();
        r.CreateGauge("rpc_count", "Count as a gauge.");
        var act = () => r.CreateHistogram("rpc", "RPC latency.");
        act.Should().Throw<MetricRegistrationException>().WithMessage("*rpc_count*");
    }

    [TestCase("1abc")]
    [TestCase("a-b")]
    [TestCase("with space")]
    [TestCase("")]
    public void CreateCounter_InvalidLegacyName_ThrowsNamingIt(string name)
    {
        var r = NewRegistry(NameValidation.Legacy);
        var act = () => r.CreateGauge(name, "h");
        act.Should().Throw<ArgumentException>().WithMessage($"*'{name}'*");
    }

    [Test]
    public void CreateGauge_Utf8NameUnderUtf8Validation_Accepted()
    {
        var r = NewRegistry();
        r.CreateGauge("my.metric", "dots are fine in Prometheus 3", "label.x").WithLabels("v").Set(1);
        r.ToText().Should().Contain("my_metric{label_x=\"v\"} 1");
    }

    [TestCase("__name__")]
    [TestCase("__meta")]
    public void CreateGauge_ReservedLabel_Throws(string label)
    {
        var act = () => NewRegistry().CreateGauge("g", "h", label);
        act.Should().Throw<ArgumentException>().WithMessage($"*'{label}'*reserved*");
    }

    [Test]
    public void CreateHistogram_LeLabel_Throws() =>
        FluentActions.Invoking(() => NewRegistry().CreateHistogram("h", "h", "le"))
            .Should().Throw<ArgumentException>().WithMessage("*'le'*");

    [Test]
    public void CreateSummary_QuantileLabel_Throws() =>
        FluentActions.Invoking(() => NewRegistry().CreateSummary("s", "h", new SummaryOptions { LabelNames = ["quantile"] }))
            .Should().Throw<ArgumentException>().WithMessage("*'quantile'*");

    [Test]
    public void CreateGauge_DuplicateLabelNames_Throws() =>
        FluentActions.Invoking(() => NewRegistry().CreateGauge("g", "h", "a", "a"))
            .Should().Throw<ArgumentException>().WithMessage("*'a' appears twice*");

    [Test]
    public void CreateGauge_UnitNotSuffix_Throws() =>
        FluentActions.Invoking(() => NewRegistry().CreateGauge("size", "h", new GaugeOptions { Unit = "bytes" }))
            .Should().Throw<ArgumentException>().WithMessage("*'size'*'_bytes'*");

    [TestCase(new double[] { 1, 1 })]
    [TestCase(new double[] { 2, 1 })]
    [TestCase(new double[] { double.NaN })]
    [TestCase(new double[] { double.NegativeInfinity, 1 })]
    public void CreateHistogram_BadBuckets_Throws(double[] buckets) =>
        FluentActions.Invoking(() => NewRegistry().CreateHistogram("h", "h", new HistogramOptions { Buckets = buckets }))
            .Should().Throw<ArgumentException>().WithMessage("*Histogram 'h'*");

    [TestCase(1.5, 0.01)]
    [TestCase(0.5, 0)]
    [TestCase(0.5, 1)]
    public void CreateSummary_BadObjective_Throws(double q, double e) =>
        FluentActions.Invoking(() => NewRegistry().CreateSummary("s", "h", new SummaryOptions { Objectives = [new(q, e)] }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Summary 's'*");

    [Test]
    public void WithLabels_WrongCount_ThrowsNamingLabels()
    {
        var c = NewRegistry().CreateCounter("c_total", "h", "method", "code");
        FluentActions.Invoking(() => c.WithLabels("GET")).Should().Throw<ArgumentException>()
            .WithMessage("*'c'*2 label(s) (method, code) but 1 value(s)*");
        FluentActions.Invoking(() => c.WithLabels("a", "b", "c")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => c.Inc()).Should().Throw<InvalidOperationException>().WithMessage("*WithLabels*");
    }

    [Test]
    public void WithLabels_NullOrLoneSurrogate_Throws()
    {
        var c = NewRegistry().CreateCounter("c_total", "h", "a");
        FluentActions.Invoking(() => c.WithLabels((string)null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => c.WithLabels("bad\ud800")).Should().Throw<ArgumentException>().WithMessage("*label 'a'*not valid UTF-8*");
    }

    [TestCase(-1.0)]
    [TestCase(double.NaN)]
    [TestCase(double.NegativeInfinity)]
    public void CounterInc_NegativeOrNaN_ThrowsNamingValue(double amount)
    {
        var c = NewRegistry().CreateCounter("c_total", "h");
        FluentActions.Invoking(() => c.Inc(amount)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*'c' can only increase*");
        c.Value.Should().Be(0);
    }

    [Test]
    public void Unregister_RemovesFamilyAndFreesName()
    {
        var r = NewRegistry();
        r.CreateGauge("g", "h").Set(1);
        r.Unregister("g").Should().BeTrue();
        r.ToText().Should().NotContain("g ");
        r.CreateCounter("g", "now a counter").Inc();
        r.ToText().Should().Contain("g_total 1");
    }
}
