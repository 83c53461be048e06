using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Rules.Tests.PromQL;

public class PrinterPropertyTests
{
    private static readonly PromQLParserOptions Experimental = new() { EnableExperimentalFunctions = true, EnableDurationExpressions = true, EnableFillModifiers = true, EnableExtendedRangeSelectors = true };

    [Test]
    public void PrintThenParse_GivesTheSameTree()
    {
        var property = Prop.ForAll(AstGenerators.Any().ToArbitrary(), (Expr tree) =>
        {
            var text = Printer.Print(tree);
            Expr parsed;
            try
            {
                parsed = PromQLExpression.Parse(text, Experimental).Root;
            }
            catch (PromQLParseException ex)
            {
                throw new InvalidOperationException($"printed tree does not parse: {text}\n{ex.Message}", ex);
            }

            if (!AstEquality.AreEqual(tree, parsed))
            {
                throw new InvalidOperationException($"round trip changed the tree:\n  printed:  {text}\n  reprinted: {Printer.Print(parsed)}");
            }

            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), property);
    }

    [Test]
    public void Print_IsIdempotentOnParsedText()
    {
        var property = Prop.ForAll(AstGenerators.Any().ToArbitrary(), (Expr tree) =>
        {
            var once = Printer.Print(tree);
            return Printer.Print(PromQLExpression.Parse(once, Experimental).Root) == once;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), property);
    }
}
