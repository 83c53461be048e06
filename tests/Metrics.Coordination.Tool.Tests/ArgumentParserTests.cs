using Metrics.Coordination.Tool.Check;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Tests;

[TestFixture]
public sealed class ArgumentParserTests
{
    private static readonly OptionSpec[] Options =
    [
        new("extended", null, "flag"),
        new("format", "FORMAT", "value", ["text", "openmetrics"]),
    ];

    private static readonly ArgumentSpec[] Arguments = [new("file", "input")];

    [Test]
    public void Parse_FlagsValuesAndPositional()
    {
        var parsed = ArgumentParser.Parse(["--extended", "--format", "OpenMetrics", "in.txt"], Options, Arguments);

        parsed.Has("extended").Should().BeTrue();
        parsed.Get("format").Should().Be("openmetrics", "allowed values are matched case-insensitively and normalised");
        parsed.Positionals.Should().Equal("in.txt");
    }

    [Test]
    public void Parse_InlineValueAndDashDash()
    {
        var parsed = ArgumentParser.Parse(["--format=text", "--", "--weird-file-name"], Options, Arguments);

        parsed.Get("format").Should().Be("text");
        parsed.Positional(0).Should().Be("--weird-file-name");
    }

    [Test]
    public void Parse_SingleDash_IsAPositional()
    {
        ArgumentParser.Parse(["-"], Options, Arguments).Positional(0).Should().Be("-");
    }

    [TestCase(new[] { "--nope" }, "unknown long flag")]
    [TestCase(new[] { "-x" }, "unknown short flag")]
    [TestCase(new[] { "--format" }, "expected a value")]
    [TestCase(new[] { "--format=yaml" }, "invalid value 'yaml'")]
    [TestCase(new[] { "--extended=true" }, "takes no value")]
    [TestCase(new[] { "--extended", "--extended" }, "cannot be repeated")]
    [TestCase(new[] { "a", "b" }, "unexpected argument 'b'")]
    public void Parse_Mistakes_ThrowUsageException(string[] args, string message)
    {
        var act = () => ArgumentParser.Parse(args, Options, Arguments);

        act.Should().Throw<UsageException>().WithMessage($"*{message}*");
    }

    [Test]
    public void Parse_MissingRequiredArgument_Throws()
    {
        var act = () => ArgumentParser.Parse([], Options, [new ArgumentSpec("dir", "a directory", Required: true)]);

        act.Should().Throw<UsageException>().WithMessage("*'dir'*");
    }

    [TestCase("# EOF\n", true)]
    [TestCase("a 1\n# EOF", true)]
    [TestCase("a 1\n# EOF\n\n", true)]
    [TestCase("a 1\n", false)]
    [TestCase("a 1 # EOF\n", false)]
    [TestCase("a 1\n## EOF\n", false)]
    [TestCase("", false)]
    public void EndsWithEof_RecognisesOnlyAFinalEofLine(string content, bool expected)
    {
        ExpositionSource.EndsWithEof(System.Text.Encoding.UTF8.GetBytes(content)).Should().Be(expected);
    }
}
