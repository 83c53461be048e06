namespace Metrics.Coordination.Tool.Cli;

/// <summary>
/// Parses a command's arguments against its declared options: <c>--flag</c>, <c>--name value</c>, <c>--name=value</c>,
/// <c>--</c> to end options, <c>-</c> as a positional (standard input). Help flags are handled by the dispatcher.
/// </summary>
internal static class ArgumentParser
{
    public static ParsedArguments Parse(IReadOnlyList<string> args, IReadOnlyList<OptionSpec> options, IReadOnlyList<ArgumentSpec> arguments)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(arguments);
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var positionals = new List<string>();
        var optionsEnded = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (optionsEnded || arg == "-" || !arg.StartsWith('-'))
            {
                positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unknown short flag '{arg}'");
            }

            var body = arg[2..];
            string? inlineValue = null;
            var eq = body.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inlineValue = body[(eq + 1)..];
                body = body[..eq];
            }

            var spec = options.FirstOrDefault(o => string.Equals(o.Name, body, StringComparison.Ordinal))
                ?? throw new UsageException($"unknown long flag '--{body}'");
            if (values.ContainsKey(spec.Name))
            {
                throw new UsageException($"flag '--{spec.Name}' cannot be repeated");
            }

            string? value = null;
            if (spec.IsFlag)
            {
                if (inlineValue is not null)
                {
                    throw new UsageException($"flag '--{spec.Name}' takes no value");
                }
            }
            else if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"expected a value for flag '--{spec.Name}'");
            }

            if (value is not null && spec.AllowedValues is { } allowed)
            {
                var match = allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase))
                    ?? throw new UsageException($"invalid value '{value}' for flag '--{spec.Name}': expected one of {string.Join(", ", allowed)}");
                value = match;
            }

            values[spec.Name] = value;
        }

        for (var i = positionals.Count; i < arguments.Count; i++)
        {
            if (arguments[i].Required)
            {
                throw new UsageException($"required argument '{arguments[i].Name}' not provided");
            }
        }

        if (positionals.Count > arguments.Count && !(arguments.Count > 0 && arguments[^1].Repeatable))
        {
            throw new UsageException($"unexpected argument '{positionals[arguments.Count]}'");
        }

        return new ParsedArguments(values, positionals);
    }
}
