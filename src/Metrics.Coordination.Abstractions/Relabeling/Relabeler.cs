using System.Globalization;
using System.Text;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Abstractions.Relabeling;

/// <summary>
/// Applies a list of relabel rules to label sets with Prometheus's semantics: each rule sees the labels as the
/// previous rule left them; a keep/drop rule that rejects the series ends processing; setting a label to the empty
/// string removes it. Immutable and thread-safe once built.
/// </summary>
public sealed class Relabeler
{
    private readonly Rule[] _rules;

    /// <summary>Compiles and validates <paramref name="configs"/>.</summary>
    /// <exception cref="RelabelConfigException">A rule is invalid; the message names its position (1-based) and the reason.</exception>
    public Relabeler(IEnumerable<RelabelConfig> configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var list = new List<Rule>();
        var position = 0;
        foreach (var config in configs)
        {
            position++;
            ArgumentNullException.ThrowIfNull(config, nameof(configs));
            try
            {
                list.Add(new Rule(config, config.Compile()));
            }
            catch (RelabelConfigException ex)
            {
                throw new RelabelConfigException($"relabel rule {position.ToString(CultureInfo.InvariantCulture)} ({config}): {ex.Message}", ex);
            }
        }

        _rules = [.. list];
        Configs = [.. list.Select(r => r.Config)];
    }

    /// <summary>A relabeler with no rules: <see cref="Process"/> returns its input.</summary>
    public static Relabeler Empty { get; } = new([]);

    /// <summary>The rules, in order.</summary>
    public IReadOnlyList<RelabelConfig> Configs { get; }

    /// <summary>Whether there are no rules.</summary>
    public bool IsEmpty => _rules.Length == 0;

    /// <summary>
    /// Relabels <paramref name="labels"/>: returns the resulting set (possibly empty, possibly the same instance when
    /// nothing changed), or null when a keep, drop, keepequal or dropequal rule dropped the series.
    /// </summary>
    public Labels? Process(Labels labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var current = labels;
        foreach (var rule in _rules)
        {
            current = rule.Apply(current);
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>
    /// Prometheus's hashmod: the MD5 digest of <paramref name="value"/>'s UTF-8 bytes, its last 8 bytes read as a
    /// big-endian unsigned integer, modulo <paramref name="modulus"/>. (Prometheus shifts all 16 bytes into a
    /// uint64; Go drops the first 8 as shifts of 64 bits or more.)
    /// </summary>
    public static ulong HashMod(string value, ulong modulus) => Shared.ShardMath.HashMod(value, modulus);

    private sealed class Rule(RelabelConfig config, GoRegex regex)
    {
        private readonly string[] _sources = [.. config.SourceLabels];
        private readonly string _separator = config.Separator;
        private readonly string _target = config.TargetLabel;
        private readonly string _replacement = config.Replacement;
        private readonly bool _targetIsTemplate = config.TargetLabel.Contains('$', StringComparison.Ordinal);
        private readonly RelabelAction _action = config.Action;

        public RelabelConfig Config => config;

        public Labels? Apply(Labels labels)
        {
            switch (_action)
            {
                case RelabelAction.Drop:
                    return regex.IsMatch(SourceValue(labels)) ? null : labels;
                case RelabelAction.Keep:
                    return regex.IsMatch(SourceValue(labels)) ? labels : null;
                case RelabelAction.DropEqual:
                    return string.Equals(labels.Get(_target), SourceValue(labels), StringComparison.Ordinal) ? null : labels;
                case RelabelAction.KeepEqual:
                    return string.Equals(labels.Get(_target), SourceValue(labels), StringComparison.Ordinal) ? labels : null;
                case RelabelAction.Replace:
                {
                    var value = SourceValue(labels);
                    var match = regex.Match(value);
                    if (!match.Success)
                    {
                        return labels;
                    }

                    var target = _targetIsTemplate ? regex.Expand(_target, match) : _target;
                    if (!MetricNames.IsValidLegacyLabelName(target))
                    {
                        return labels;
                    }

                    return Set(labels, target, regex.Expand(_replacement, match));
                }

                case RelabelAction.Lowercase:
                    return Set(labels, _target, SourceValue(labels).ToLowerInvariant());
                case RelabelAction.Uppercase:
                    return Set(labels, _target, SourceValue(labels).ToUpperInvariant());
                case RelabelAction.HashMod:
                    return Set(labels, _target, HashMod(SourceValue(labels), config.Modulus).ToString(CultureInfo.InvariantCulture));
                case RelabelAction.LabelMap:
                {
                    Dictionary<string, string>? builder = null;
                    foreach (var label in labels.AsSpan())
                    {
                        var match = regex.Match(label.Name);
                        if (match.Success)
                        {
                            builder ??= ToDictionary(labels);
                            var name = regex.Expand(_replacement, match);
                            if (name.Length > 0)
                            {
                                SetIn(builder, name, label.Value);
                            }
                        }
                    }

                    return builder is null ? labels : FromDictionary(builder);
                }

                case RelabelAction.LabelDrop:
                case RelabelAction.LabelKeep:
                {
                    var keepMatching = _action == RelabelAction.LabelKeep;
                    List<Label>? kept = null;
                    var span = labels.AsSpan();
                    for (var i = 0; i < span.Length; i++)
                    {
                        var keep = regex.IsMatch(span[i].Name) == keepMatching;
                        if (!keep && kept is null)
                        {
                            kept = new List<Label>(span.Length);
                            for (var j = 0; j < i; j++)
                            {
                                kept.Add(span[j]);
                            }
                        }
                        else if (keep)
                        {
                            kept?.Add(span[i]);
                        }
                    }

                    return kept is null ? labels : Labels.From(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(kept));
                }

                default:
                    throw new InvalidOperationException($"relabel: unknown relabel action type \"{_action}\"");
            }
        }

        private string SourceValue(Labels labels)
        {
            switch (_sources.Length)
            {
                case 0:
                    return string.Empty;
                case 1:
                    return labels.Get(_sources[0]);
                default:
                    var sb = new StringBuilder();
                    for (var i = 0; i < _sources.Length; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(_separator);
                        }

                        sb.Append(labels.Get(_sources[i]));
                    }

                    return sb.ToString();
            }
        }

        private static Labels Set(Labels labels, string name, string value)
        {
            // Skip the copy when the label already has this value (or is absent and the value is empty).
            return string.Equals(labels.Get(name), value, StringComparison.Ordinal) && (value.Length > 0 || !labels.Has(name))
                ? labels
                : labels.With(name, value);
        }

        private static Dictionary<string, string> ToDictionary(Labels labels)
        {
            var d = new Dictionary<string, string>(labels.Count + 2, StringComparer.Ordinal);
            foreach (var l in labels.AsSpan())
            {
                d[l.Name] = l.Value;
            }

            return d;
        }

        private static void SetIn(Dictionary<string, string> builder, string name, string value)
        {
            if (value.Length == 0)
            {
                builder.Remove(name);
            }
            else
            {
                builder[name] = value;
            }
        }

        private static Labels FromDictionary(Dictionary<string, string> builder)
        {
            var array = new Label[builder.Count];
            var i = 0;
            foreach (var (name, value) in builder)
            {
                array[i++] = new Label(name, value);
            }

            return Labels.From(array);
        }
    }
}
