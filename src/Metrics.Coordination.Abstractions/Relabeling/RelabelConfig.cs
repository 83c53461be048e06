using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Abstractions.Relabeling;

/// <summary>
/// One rule of a Prometheus <c>relabel_config</c> list (<c>relabel_configs</c>, <c>metric_relabel_configs</c>,
/// <c>write_relabel_configs</c>), with Prometheus's field names and defaults. Build a <see cref="Relabeler"/> from a
/// list of them to apply it; <see cref="Validate"/> (called by the relabeler) rejects what Prometheus rejects.
/// </summary>
public sealed class RelabelConfig
{
    /// <summary>The default <see cref="Separator"/>: <c>;</c>.</summary>
    public const string DefaultSeparator = ";";

    /// <summary>The default <see cref="Regex"/>: <c>(.*)</c>.</summary>
    public const string DefaultRegex = "(.*)";

    /// <summary>The default <see cref="Replacement"/>: <c>$1</c>.</summary>
    public const string DefaultReplacement = "$1";

    private static readonly string[] FieldNames = ["source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"];

    // Prometheus's relabelTarget: label names with $1 / ${name} references (\w is ASCII in Go).
    private static readonly Regex RelabelTarget = new(@"\A(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+\z", RegexOptions.CultureInvariant);

    /// <summary><c>source_labels</c>: the labels whose values are joined with <see cref="Separator"/>. Default: none.</summary>
    public IReadOnlyList<string> SourceLabels { get; init; } = [];

    /// <summary><c>separator</c>: placed between the source values. Default: <c>;</c>.</summary>
    public string Separator { get; init; } = DefaultSeparator;

    /// <summary><c>regex</c>: a Go RE2 expression, fully anchored when applied. Default: <c>(.*)</c>.</summary>
    public string Regex { get; init; } = DefaultRegex;

    /// <summary><c>modulus</c>: for <see cref="RelabelAction.HashMod"/>. Default: 0 (required for hashmod).</summary>
    public ulong Modulus { get; init; }

    /// <summary><c>target_label</c>: the label written by replace, hashmod, lowercase, uppercase and compared by keepequal/dropequal; may contain <c>$1</c>-style references for replace.</summary>
    public string TargetLabel { get; init; } = string.Empty;

    /// <summary><c>replacement</c>: the template for replace and labelmap, with Go's <c>$1</c>, <c>${1}</c>, <c>$name</c> expansion. Default: <c>$1</c>.</summary>
    public string Replacement { get; init; } = DefaultReplacement;

    /// <summary><c>action</c>. Default: <see cref="RelabelAction.Replace"/>.</summary>
    public RelabelAction Action { get; init; } = RelabelAction.Replace;

    /// <summary>The action as spelled in YAML: <c>replace</c>, <c>keep</c>, <c>hashmod</c>, ...</summary>
    public static string ActionName(RelabelAction action) => action switch
    {
        RelabelAction.Replace => "replace",
        RelabelAction.Keep => "keep",
        RelabelAction.Drop => "drop",
        RelabelAction.KeepEqual => "keepequal",
        RelabelAction.DropEqual => "dropequal",
        RelabelAction.HashMod => "hashmod",
        RelabelAction.LabelMap => "labelmap",
        RelabelAction.LabelDrop => "labeldrop",
        RelabelAction.LabelKeep => "labelkeep",
        RelabelAction.Lowercase => "lowercase",
        RelabelAction.Uppercase => "uppercase",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "Unknown relabel action."),
    };

    /// <summary>Parses an action name case-insensitively, as Prometheus does.</summary>
    /// <exception cref="RelabelConfigException">The name is not an action (<c>unknown relabel action "x"</c>).</exception>
    public static RelabelAction ParseAction(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "replace" => RelabelAction.Replace,
            "keep" => RelabelAction.Keep,
            "drop" => RelabelAction.Drop,
            "keepequal" => RelabelAction.KeepEqual,
            "dropequal" => RelabelAction.DropEqual,
            "hashmod" => RelabelAction.HashMod,
            "labelmap" => RelabelAction.LabelMap,
            "labeldrop" => RelabelAction.LabelDrop,
            "labelkeep" => RelabelAction.LabelKeep,
            "lowercase" => RelabelAction.Lowercase,
            "uppercase" => RelabelAction.Uppercase,
            _ => throw new RelabelConfigException($"unknown relabel action \"{name}\""),
        };
    }

    /// <summary>Checks the rule as Prometheus's configuration loader does; the messages are Prometheus's.</summary>
    /// <exception cref="RelabelConfigException">The rule is invalid.</exception>
    public void Validate() => _ = Compile();

    internal GoRegex Compile()
    {
        if (SourceLabels is null || Separator is null || Regex is null || TargetLabel is null || Replacement is null)
        {
            throw new RelabelConfigException("relabel configuration fields must not be null");
        }

        foreach (var name in SourceLabels)
        {
            if (name is null || !MetricNames.IsValidLegacyLabelName(name))
            {
                throw new RelabelConfigException($"\"{name}\" is not a valid label name");
            }
        }

        var action = ActionName(Action);
        if (Modulus == 0 && Action == RelabelAction.HashMod)
        {
            throw new RelabelConfigException("relabel configuration for hashmod requires non-zero modulus");
        }

        if (Action is RelabelAction.Replace or RelabelAction.HashMod or RelabelAction.Lowercase or RelabelAction.Uppercase or RelabelAction.KeepEqual or RelabelAction.DropEqual
            && TargetLabel.Length == 0)
        {
            throw new RelabelConfigException($"relabel configuration for {action} action requires 'target_label' value");
        }

        if (Action is RelabelAction.Replace or RelabelAction.Lowercase or RelabelAction.Uppercase && !RelabelTarget.IsMatch(TargetLabel))
        {
            throw new RelabelConfigException($"\"{TargetLabel}\" is invalid 'target_label' for {action} action");
        }

        if (Action is RelabelAction.Lowercase or RelabelAction.Uppercase or RelabelAction.KeepEqual or RelabelAction.DropEqual && Replacement != DefaultReplacement)
        {
            throw new RelabelConfigException($"'replacement' can not be set for {action} action");
        }

        if (Action == RelabelAction.LabelMap && !RelabelTarget.IsMatch(Replacement))
        {
            throw new RelabelConfigException($"\"{Replacement}\" is invalid 'replacement' for {action} action");
        }

        if (Action == RelabelAction.HashMod && !MetricNames.IsValidLegacyLabelName(TargetLabel))
        {
            throw new RelabelConfigException($"\"{TargetLabel}\" is invalid 'target_label' for {action} action");
        }

        if (Action is RelabelAction.KeepEqual or RelabelAction.DropEqual
            && (Regex != DefaultRegex || Modulus != 0 || Separator != DefaultSeparator || Replacement != DefaultReplacement))
        {
            throw new RelabelConfigException($"{action} action requires only 'source_labels' and `target_label`, and no other fields");
        }

        if (Action is RelabelAction.LabelDrop or RelabelAction.LabelKeep
            && (SourceLabels.Count != 0 || TargetLabel.Length != 0 || Modulus != 0 || Separator != DefaultSeparator || Replacement != DefaultReplacement))
        {
            throw new RelabelConfigException($"{action} action requires only 'regex', and no other fields");
        }

        try
        {
            // Anchored as Prometheus anchors relabel regexes; a second-long match is already a bug in a scrape loop.
            return new GoRegex(Regex, anchored: true, dotAll: false, TimeSpan.FromSeconds(1));
        }
        catch (GoRegexSyntaxException ex)
        {
            throw new RelabelConfigException($"error parsing regexp `{Regex}`: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Parses a YAML sequence of relabel rules (the value of <c>relabel_configs:</c>) with Prometheus's strictness:
    /// unknown fields, wrong types and invalid rules are errors naming the rule's line.
    /// </summary>
    /// <exception cref="RelabelConfigException">The YAML is malformed or a rule is invalid.</exception>
    public static IReadOnlyList<RelabelConfig> ParseYamlList(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new RelabelConfigException($"yaml: line {ex.Start.Line}: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return [];
        }

        return FromYamlList(stream.Documents[0].RootNode);
    }

    /// <summary>Reads a YAML sequence node of relabel rules (for configuration files that embed them).</summary>
    /// <exception cref="RelabelConfigException">A rule is malformed or invalid.</exception>
    public static IReadOnlyList<RelabelConfig> FromYamlList(YamlNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is YamlScalarNode { Value: null or "" or "null" or "~" })
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw new RelabelConfigException($"yaml: line {node.Start.Line}: expected a list of relabel configurations");
        }

        var list = new List<RelabelConfig>(sequence.Children.Count);
        foreach (var child in sequence.Children)
        {
            list.Add(FromYaml(child));
        }

        return list;
    }

    /// <summary>Reads one YAML mapping node as a relabel rule and validates it.</summary>
    /// <exception cref="RelabelConfigException">The rule is malformed or invalid.</exception>
    public static RelabelConfig FromYaml(YamlNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is not YamlMappingNode mapping)
        {
            throw new RelabelConfigException($"yaml: line {node.Start.Line}: expected a relabel configuration mapping");
        }

        IReadOnlyList<string> sourceLabels = [];
        string separator = DefaultSeparator, regex = DefaultRegex, targetLabel = string.Empty, replacement = DefaultReplacement;
        ulong modulus = 0;
        var action = RelabelAction.Replace;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                var key = ((YamlScalarNode)keyNode).Value ?? string.Empty;
                if (!seen.Add(key))
                {
                    throw Error(keyNode, $"field {key} already set in type relabel.plain");
                }

                switch (key)
                {
                    case "source_labels":
                        sourceLabels = ReadStringList(valueNode);
                        break;
                    case "separator":
                        separator = ReadString(valueNode);
                        break;
                    case "regex":
                        regex = ReadString(valueNode);
                        break;
                    case "modulus":
                        var text = ReadString(valueNode);
                        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out modulus))
                        {
                            throw Error(valueNode, $"cannot unmarshal !!str `{text}` into uint64");
                        }

                        break;
                    case "target_label":
                        targetLabel = ReadString(valueNode);
                        break;
                    case "replacement":
                        replacement = ReadString(valueNode);
                        break;
                    case "action":
                        var name = ReadString(valueNode);
                        if (name.Length == 0)
                        {
                            throw Error(valueNode, "relabel action cannot be empty");
                        }

                        action = ParseAction(name);
                        break;
                    default:
                        throw Error(keyNode, $"field {key} not found in type relabel.plain (known: {string.Join(", ", FieldNames)})");
                }
            }

            var config = new RelabelConfig
            {
                SourceLabels = sourceLabels,
                Separator = separator,
                Regex = regex,
                Modulus = modulus,
                TargetLabel = targetLabel,
                Replacement = replacement,
                Action = action,
            };
            config.Validate();
            return config;
        }
        catch (RelabelConfigException ex) when (!ex.Message.StartsWith("yaml: line", StringComparison.Ordinal))
        {
            throw new RelabelConfigException($"yaml: line {mapping.Start.Line}: {ex.Message}", ex);
        }
        catch (InvalidCastException ex)
        {
            throw new RelabelConfigException($"yaml: line {mapping.Start.Line}: relabel configuration keys must be strings", ex);
        }
    }

    /// <summary>Writes the rule as a YAML mapping in Prometheus's field names (defaults omitted, as Prometheus marshals it).</summary>
    public string ToYaml()
    {
        var sb = new System.Text.StringBuilder();
        if (SourceLabels.Count > 0)
        {
            sb.Append("source_labels: [").Append(string.Join(", ", SourceLabels.Select(Quote))).Append("]\n");
        }

        if (Separator != DefaultSeparator)
        {
            sb.Append("separator: ").Append(Quote(Separator)).Append('\n');
        }

        sb.Append("regex: ").Append(Quote(Regex)).Append('\n');
        if (Modulus != 0)
        {
            sb.Append("modulus: ").Append(Modulus.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        if (TargetLabel.Length > 0)
        {
            sb.Append("target_label: ").Append(Quote(TargetLabel)).Append('\n');
        }

        sb.Append("replacement: ").Append(Quote(Replacement)).Append('\n');
        sb.Append("action: ").Append(ActionName(Action)).Append('\n');
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToYaml().TrimEnd().Replace('\n', ' ');

    private static string Quote(string s)
    {
        // YAML double-quoted scalar: backslash escapes, as JSON strings (a subset of YAML) write them.
        var sb = new System.Text.StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }

        return sb.Append('"').ToString();
    }

    private static RelabelConfigException Error(YamlNode node, string message) => new($"yaml: line {node.Start.Line}: {message}");

    private static string ReadString(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value ?? string.Empty,
        _ => throw Error(node, "expected a string"),
    };

    private static IReadOnlyList<string> ReadStringList(YamlNode node)
    {
        if (node is YamlScalarNode { Value: null or "" or "null" or "~" })
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw Error(node, "source_labels must be a list of label names");
        }

        var list = new List<string>(sequence.Children.Count);
        foreach (var item in sequence.Children)
        {
            var name = ReadString(item);
            if (!MetricNames.IsValidLegacyLabelName(name))
            {
                throw Error(item, $"\"{name}\" is not a valid label name");
            }

            list.Add(name);
        }

        return list;
    }
}
