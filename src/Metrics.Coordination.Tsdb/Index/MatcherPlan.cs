using Metrics.Coordination.Abstractions;
using MatchType = Metrics.Coordination.Abstractions.MatchType;

namespace Metrics.Coordination.Tsdb.Index;

/// <summary>
/// A label matcher analysed for index lookups: regexes that are really a literal, a set of literals
/// (<c>a|b|c</c>), a prefix (<c>abc.*</c>), <c>.*</c> or <c>.+</c> are evaluated without the regex engine, and
/// literal sets turn into direct postings lookups instead of a scan over every value of the label.
/// </summary>
internal sealed class MatcherPlan
{
    private const string RegexMeta = "\\.+*?()|[]{}^$";

    private readonly HashSet<string>? _set;

    private MatcherPlan(LabelMatcher matcher)
    {
        Matcher = matcher;
        Negated = matcher.Type is MatchType.NotEqual or MatchType.NotRegex;
        var value = matcher.Value;
        if (matcher.Type is MatchType.Equal or MatchType.NotEqual)
        {
            Kind = PlanKind.Literals;
            Literals = [value];
        }
        else if (value == ".*")
        {
            Kind = PlanKind.Any;
        }
        else if (value == ".+")
        {
            Kind = PlanKind.NonEmpty;
        }
        else if (IsLiteral(value))
        {
            Kind = PlanKind.Literals;
            Literals = [value];
        }
        else if (value.Split('|') is { Length: > 1 } alternatives && Array.TrueForAll(alternatives, IsLiteral))
        {
            Kind = PlanKind.Literals;
            Literals = [.. alternatives.Distinct(StringComparer.Ordinal).Order(Utf8Order.Instance)];
            _set = new HashSet<string>(Literals, StringComparer.Ordinal);
        }
        else if (value.EndsWith(".*", StringComparison.Ordinal) && IsLiteral(value[..^2]))
        {
            Kind = PlanKind.Prefix;
            Prefix = value[..^2];
        }
        else
        {
            Kind = PlanKind.Regex;
        }

        MatchesEmpty = Matches(string.Empty);
    }

    /// <summary>How the un-negated matcher is evaluated.</summary>
    public enum PlanKind
    {
        /// <summary>Equal to one of <see cref="Literals"/>.</summary>
        Literals,

        /// <summary>Starts with <see cref="Prefix"/>.</summary>
        Prefix,

        /// <summary><c>.*</c>: anything.</summary>
        Any,

        /// <summary><c>.+</c>: anything but the empty string.</summary>
        NonEmpty,

        /// <summary>The regex engine.</summary>
        Regex,
    }

    /// <summary>The matcher.</summary>
    public LabelMatcher Matcher { get; }

    /// <summary>The label name.</summary>
    public string Name => Matcher.Name;

    /// <summary>How the positive form is evaluated.</summary>
    public PlanKind Kind { get; }

    /// <summary>Whether the matcher is <c>!=</c> or <c>!~</c>.</summary>
    public bool Negated { get; }

    /// <summary>For <see cref="PlanKind.Literals"/>: the values the positive form matches, sorted.</summary>
    public string[] Literals { get; } = [];

    /// <summary>For <see cref="PlanKind.Prefix"/>: the prefix.</summary>
    public string Prefix { get; } = string.Empty;

    /// <summary>Whether an absent label (the empty string) matches.</summary>
    public bool MatchesEmpty { get; }

    /// <summary>Plans <paramref name="matcher"/>.</summary>
    public static MatcherPlan For(LabelMatcher matcher) => new(matcher);

    /// <summary>Whether <paramref name="value"/> satisfies the matcher (negation included).</summary>
    public bool Matches(string value) => MatchesPositive(value) != Negated;

    /// <summary>Whether <paramref name="value"/> satisfies the positive form (<c>=</c> or <c>=~</c>).</summary>
    public bool MatchesPositive(string value) => Kind switch
    {
        PlanKind.Literals => _set is null ? string.Equals(value, Literals[0], StringComparison.Ordinal) : _set.Contains(value),
        PlanKind.Prefix => value.StartsWith(Prefix, StringComparison.Ordinal),
        PlanKind.Any => true,
        PlanKind.NonEmpty => value.Length > 0,
        _ => Negated ? !Matcher.Matches(value) : Matcher.Matches(value),
    };

    private static bool IsLiteral(string s) => s.AsSpan().IndexOfAny(RegexMeta) < 0;
}

/// <summary>What <see cref="PostingsForMatchers"/> needs from an index (head or block).</summary>
internal interface IPostingsSource
{
    /// <summary>The values of label <paramref name="name"/>, sorted by UTF-8 bytes (never the empty string).</summary>
    IReadOnlyList<string> LabelValues(string name);

    /// <summary>The series with <paramref name="name"/>=<paramref name="value"/>, sorted; empty when none.</summary>
    ulong[] Postings(string name, string value);

    /// <summary>Every series, sorted.</summary>
    ulong[] AllPostings();
}

/// <summary>Resolves a conjunction of matchers to the sorted series references that satisfy all of them.</summary>
internal static class PostingsForMatchers
{
    /// <summary>
    /// Prometheus's algorithm: a matcher that rejects the empty string contributes the union of postings of the
    /// values it accepts (intersected); one that accepts the empty string instead subtracts the postings of the values
    /// it rejects (an absent label counts as ""); with no contributing matcher, the start set is all series.
    /// </summary>
    public static ulong[] Select(IPostingsSource index, IReadOnlyList<LabelMatcher> matchers)
    {
        var positives = new List<ulong[]>();
        var negatives = new List<ulong[]>();
        foreach (var matcher in matchers)
        {
            var plan = MatcherPlan.For(matcher);
            if (plan.MatchesEmpty)
            {
                if (plan.Kind == MatcherPlan.PlanKind.Any && !plan.Negated)
                {
                    continue;
                }

                var excluded = ValuesPostings(index, plan, wanted: false);
                if (excluded.Length > 0)
                {
                    negatives.Add(excluded);
                }
            }
            else
            {
                var included = ValuesPostings(index, plan, wanted: true);
                if (included.Length == 0)
                {
                    return [];
                }

                positives.Add(included);
            }
        }

        var result = positives.Count == 0 ? index.AllPostings() : Postings.Intersect(positives);
        foreach (var n in negatives)
        {
            result = Postings.Without(result, n);
        }

        return result;
    }

    /// <summary>The union of postings of the label's values for which <c>plan.Matches(v) == wanted</c>.</summary>
    private static ulong[] ValuesPostings(IPostingsSource index, MatcherPlan plan, bool wanted)
    {
        var lists = new List<ulong[]>();
        if (plan.Kind == MatcherPlan.PlanKind.Literals && wanted != plan.Negated)
        {
            // The wanted values are exactly the literals: look them up directly.
            foreach (var literal in plan.Literals)
            {
                if (literal.Length > 0 && index.Postings(plan.Name, literal) is { Length: > 0 } p)
                {
                    lists.Add(p);
                }
            }
        }
        else
        {
            foreach (var value in index.LabelValues(plan.Name))
            {
                if (plan.Matches(value) == wanted && index.Postings(plan.Name, value) is { Length: > 0 } p)
                {
                    lists.Add(p);
                }
            }
        }

        return Postings.Union(lists);
    }
}
