using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Metrics.Coordination.Rules;

/// <summary>Settings for reading rule files.</summary>
public sealed class RuleFileParserOptions
{
    /// <summary>The PromQL parser settings for rule expressions. Default: Prometheus's defaults.</summary>
    public PromQLParserOptions? PromQLOptions { get; set; }
}

/// <summary>
/// Reads Prometheus rule files (<c>rulefmt</c>) and validates them as Prometheus does, collecting every problem with its
/// file, group, rule index and line: unknown fields, duplicate or empty group names, bad durations, invalid
/// <c>record</c> names and label names, <c>__name__</c> in labels, fields recording rules may not have, expressions
/// that do not parse, templates that do not parse.
/// </summary>
public static class RuleFileParser
{
    private static readonly string[] FileKeys = ["groups"];
    private static readonly string[] GroupKeys = ["name", "interval", "query_offset", "limit", "labels", "rules"];
    private static readonly string[] RuleKeys = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];

    /// <summary>Reads and validates the file at <paramref name="path"/>. Throws <see cref="RuleFileException"/> listing every problem.</summary>
    public static RuleFile Load(string path, RuleFileParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuleFileException([new RuleFileProblem(path, null, 0, null, 0, 0, e.Message)]);
        }

        return Parse(text, path, options);
    }

    /// <summary>Parses and validates <paramref name="text"/> as the file <paramref name="path"/>. Throws <see cref="RuleFileException"/> listing every problem.</summary>
    public static RuleFile Parse(string text, string path, RuleFileParserOptions? options = null)
    {
        var file = TryParse(text, path, out var problems, options);
        return problems.Count > 0 ? throw new RuleFileException(problems) : file!;
    }

    /// <summary>Parses and validates <paramref name="text"/>; returns the file when there were no problems, else null with <paramref name="problems"/> filled.</summary>
    public static RuleFile? TryParse(string text, string path, out IReadOnlyList<RuleFileProblem> problems, RuleFileParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(path);
        var reader = new Reader(path, options?.PromQLOptions);
        var file = reader.Read(text);
        problems = reader.Problems;
        return reader.Problems.Count == 0 ? file : null;
    }

    /// <summary>Parses a Prometheus duration (<c>1h30m</c>, <c>500ms</c>, <c>2w</c>, <c>0</c>): integer counts of y, w, d, h, m, s, ms in that order.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Durations.TryParse(text, out var ms) && ms <= (long)TimeSpan.MaxValue.TotalMilliseconds)
        {
            duration = TimeSpan.FromMilliseconds(ms);
            return true;
        }

        duration = default;
        return false;
    }

    private sealed class Reader(string path, PromQLParserOptions? promQLOptions)
    {
        public List<RuleFileProblem> Problems { get; } = [];

        public RuleFile? Read(string text)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                var reason = e.InnerException?.Message ?? e.Message;
                Add(null, 0, null, (int)e.Start.Line, (int)e.Start.Column, "yaml: " + StripMark(reason));
                return null;
            }

            var groups = new List<RuleGroupDefinition>();
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            {
                return new RuleFile(path, groups);
            }

            if (stream.Documents.Count > 1)
            {
                Add(null, 0, null, stream.Documents[1].RootNode.Start, "yaml: expected a single document in the rule file");
            }

            if (stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                Add(null, 0, null, stream.Documents[0].RootNode.Start, "yaml: the rule file must be a mapping with a 'groups' list");
                return null;
            }

            CheckKeys(root, FileKeys, "rulefmt.RuleGroups", null, 0, null);
            var groupsNode = Child(root, "groups");
            if (groupsNode is null || IsNull(groupsNode))
            {
                return new RuleFile(path, groups);
            }

            if (groupsNode is not YamlSequenceNode groupSeq)
            {
                Add(null, 0, null, groupsNode.Start, "yaml: 'groups' must be a list");
                return null;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var g in groupSeq.Children)
            {
                var group = ReadGroup(g, seen);
                if (group is not null)
                {
                    groups.Add(group);
                }
            }

            return Problems.Count == 0 ? new RuleFile(path, groups) : null;
        }

        private RuleGroupDefinition? ReadGroup(YamlNode node, HashSet<string> seen)
        {
            if (node is not YamlMappingNode map)
            {
                Add(null, 0, null, node.Start, "yaml: a group must be a mapping");
                return null;
            }

            CheckKeys(map, GroupKeys, "rulefmt.RuleGroup", null, 0, null);
            var nameNode = Child(map, "name");
            var name = Scalar(nameNode, null, 0, null, "name") ?? string.Empty;
            if (name.Length == 0)
            {
                Add(null, 0, null, nameNode?.Start ?? map.Start, "Groupname must not be empty");
            }
            else if (!seen.Add(name))
            {
                Add(null, 0, null, nameNode!.Start, $"groupname: \"{name}\" is repeated in the same file");
            }

            var interval = Duration(Child(map, "interval"), name, 0, null, "interval");
            var queryOffset = Duration(Child(map, "query_offset"), name, 0, null, "query_offset");
            var limit = 0;
            if (Child(map, "limit") is { } limitNode && Scalar(limitNode, name, 0, null, "limit") is { } limitText)
            {
                if (!int.TryParse(limitText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
                {
                    Add(name, 0, null, limitNode.Start, $"limit: cannot parse \"{limitText}\" as an integer");
                }
                else if (limit < 0)
                {
                    Add(name, 0, null, limitNode.Start, $"limit must not be negative, got {limit}");
                    limit = 0;
                }
            }

            var groupLabels = LabelMap(Child(map, "labels"), name, 0, null, "label", checkNames: true);
            var rules = new List<RuleDefinition>();
            if (Child(map, "rules") is { } rulesNode && !IsNull(rulesNode))
            {
                if (rulesNode is not YamlSequenceNode ruleSeq)
                {
                    Add(name, 0, null, rulesNode.Start, "yaml: 'rules' must be a list");
                }
                else
                {
                    var index = 0;
                    foreach (var r in ruleSeq.Children)
                    {
                        index++;
                        if (ReadRule(r, name, index) is { } rule)
                        {
                            rules.Add(rule);
                        }
                    }
                }
            }

            return new RuleGroupDefinition(path, name, interval is { } i && i > TimeSpan.Zero ? i : null, queryOffset, limit, groupLabels, rules, (int)(nameNode?.Start.Line ?? map.Start.Line));
        }

        private RuleDefinition? ReadRule(YamlNode node, string group, int index)
        {
            if (node is not YamlMappingNode map)
            {
                Add(group, index, null, node.Start, "yaml: a rule must be a mapping");
                return null;
            }

            var recordNode = Child(map, "record");
            var alertNode = Child(map, "alert");
            var record = Scalar(recordNode, group, index, null, "record") ?? string.Empty;
            var alert = Scalar(alertNode, group, index, null, "alert") ?? string.Empty;
            var ruleName = record.Length > 0 ? record : alert;
            var problemsBefore = Problems.Count;
            CheckKeys(map, RuleKeys, "rulefmt.RuleNode", group, index, ruleName);

            if (record.Length > 0 && alert.Length > 0)
            {
                Add(group, index, ruleName, recordNode!.Start, "only one of 'record' and 'alert' must be set");
            }
            else if (record.Length == 0 && alert.Length == 0)
            {
                Add(group, index, ruleName, (recordNode ?? alertNode ?? map).Start, "one of 'record' or 'alert' must be set");
            }

            var kind = record.Length > 0 ? RuleKind.Recording : RuleKind.Alerting;
            var nameNode = (kind == RuleKind.Recording ? recordNode : alertNode) ?? map;
            var exprNode = Child(map, "expr");
            var exprText = Scalar(exprNode, group, index, ruleName, "expr") ?? string.Empty;
            PromQLExpression? expression = null;
            if (exprText.Length == 0)
            {
                Add(group, index, ruleName, (exprNode ?? map).Start, "field 'expr' must be set in rule");
            }
            else
            {
                try
                {
                    expression = PromQLExpression.Parse(exprText, promQLOptions);
                }
                catch (PromQLParseException e)
                {
                    var (line, column) = MapPosition((YamlScalarNode)exprNode!, e.StartLine, e.StartColumn);
                    Add(group, index, ruleName, line, column, "could not parse expression: " + e.Message);
                }
            }

            var forNode = Child(map, "for");
            var keepNode = Child(map, "keep_firing_for");
            var annotationsNode = Child(map, "annotations");
            var @for = Duration(forNode, group, index, ruleName, "for") ?? TimeSpan.Zero;
            var keep = Duration(keepNode, group, index, ruleName, "keep_firing_for") ?? TimeSpan.Zero;
            if (kind == RuleKind.Recording)
            {
                if (annotationsNode is not null && !IsNull(annotationsNode))
                {
                    Add(group, index, ruleName, nameNode.Start, "invalid field 'annotations' in recording rule");
                }

                if (forNode is not null && !IsNull(forNode))
                {
                    Add(group, index, ruleName, nameNode.Start, "invalid field 'for' in recording rule");
                }

                if (keepNode is not null && !IsNull(keepNode))
                {
                    Add(group, index, ruleName, nameNode.Start, "invalid field 'keep_firing_for' in recording rule");
                }

                if (record.Length > 0 && !MetricNames.IsValidLegacyMetricName(record))
                {
                    Add(group, index, ruleName, nameNode.Start, "invalid recording rule name: " + record);
                }
            }
            else if (alert.Length > 0 && !MetricNames.IsWellFormedUtf16(alert))
            {
                Add(group, index, ruleName, nameNode.Start, "invalid alert name: " + alert);
            }

            var labels = LabelMap(Child(map, "labels"), group, index, ruleName, "label", checkNames: true);
            var annotations = kind == RuleKind.Alerting ? LabelMap(annotationsNode, group, index, ruleName, "annotation", checkNames: true) : Labels.Empty;
            if (kind == RuleKind.Alerting && alert.Length > 0)
            {
                foreach (var l in labels)
                {
                    CheckTemplate(alert, l.Value, group, index, $"label \"{l.Name}\"");
                }

                foreach (var a in annotations)
                {
                    CheckTemplate(alert, a.Value, group, index, $"annotation \"{a.Name}\"");
                }
            }

            if (Problems.Count > problemsBefore || expression is null)
            {
                return null;
            }

            return new RuleDefinition(kind, ruleName, expression, @for, keep, labels, annotations, index, (int)nameNode.Start.Line);
        }

        private void CheckTemplate(string alertName, string text, string group, int index, string what)
        {
            if (RuleTemplates.Validate(alertName, text) is { } error)
            {
                Add(group, index, alertName, 0, 0, $"{what}: {error}");
            }
        }

        private static (int Line, int Column) MapPosition(YamlScalarNode node, int exprLine, int exprColumn)
        {
            var line = (int)node.Start.Line;
            var column = (int)node.Start.Column;
            switch (node.Style)
            {
                case ScalarStyle.Literal or ScalarStyle.Folded:
                    // Block scalar content starts on the line after the indicator; its columns are relative to the indentation.
                    return (line + exprLine, exprColumn);
                case ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted:
                    return exprLine == 1 ? (line, column + exprColumn) : (line + exprLine - 1, exprColumn);
                default:
                    return exprLine == 1 ? (line, column + exprColumn - 1) : (line + exprLine - 1, exprColumn);
            }
        }

        private Labels LabelMap(YamlNode? node, string? group, int index, string? rule, string what, bool checkNames)
        {
            if (node is null || IsNull(node))
            {
                return Labels.Empty;
            }

            if (node is not YamlMappingNode map)
            {
                Add(group, index, rule, node.Start, $"yaml: {what}s must be a mapping of names to strings");
                return Labels.Empty;
            }

            var list = new List<Label>();
            foreach (var (k, v) in map.Children)
            {
                var name = (k as YamlScalarNode)?.Value ?? string.Empty;
                if (v is not YamlScalarNode vs)
                {
                    Add(group, index, rule, v.Start, $"yaml: {what} \"{name}\" must have a string value");
                    continue;
                }

                var value = vs.Value ?? string.Empty;
                if (checkNames && what == "label")
                {
                    if (name == Labels.MetricName || !MetricNames.IsValidLegacyLabelName(name))
                    {
                        Add(group, index, rule, k.Start, "invalid label name: " + name);
                        continue;
                    }

                    if (!MetricNames.IsWellFormedUtf16(value))
                    {
                        Add(group, index, rule, v.Start, $"invalid label value: {value}");
                        continue;
                    }
                }
                else if (checkNames && !MetricNames.IsValidLegacyLabelName(name))
                {
                    Add(group, index, rule, k.Start, "invalid annotation name: " + name);
                    continue;
                }

                list.Add(new Label(name, value));
            }

            return Labels.From([.. list]);
        }

        private TimeSpan? Duration(YamlNode? node, string? group, int index, string? rule, string field)
        {
            if (node is null || IsNull(node))
            {
                return null;
            }

            var text = Scalar(node, group, index, rule, field);
            if (text is null)
            {
                return null;
            }

            if (!TryParseDuration(text, out var d))
            {
                Add(group, index, rule, node.Start, $"{field}: not a valid duration string: \"{text}\"");
                return null;
            }

            return d;
        }

        private string? Scalar(YamlNode? node, string? group, int index, string? rule, string field)
        {
            if (node is null)
            {
                return null;
            }

            if (node is YamlScalarNode s)
            {
                return s.Value;
            }

            Add(group, index, rule, node.Start, $"yaml: field {field} must be a string");
            return null;
        }

        private void CheckKeys(YamlMappingNode map, string[] allowed, string type, string? group, int index, string? rule)
        {
            foreach (var key in map.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value;
                if (name is null || Array.IndexOf(allowed, name) < 0)
                {
                    Add(group, index, rule, key.Start, $"field {name} not found in type {type}");
                }
            }
        }

        private static YamlNode? Child(YamlMappingNode map, string key)
        {
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode { Value: var name } && name == key)
                {
                    return v;
                }
            }

            return null;
        }

        private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

        private static string StripMark(string message)
        {
            // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): " to its messages; the problem carries the position.
            var marker = message.IndexOf("): ", StringComparison.Ordinal);
            return message.StartsWith("(Line:", StringComparison.Ordinal) && marker > 0 ? message[(marker + 3)..] : message;
        }

        private void Add(string? group, int index, string? rule, Mark mark, string message) =>
            Add(group, index, rule, (int)mark.Line, (int)mark.Column, message);

        private void Add(string? group, int index, string? rule, int line, int column, string message) =>
            Problems.Add(new RuleFileProblem(path, group, index, rule, line, column, message));
    }
}
