namespace Metrics.Coordination.ZooKeeper;

/// <summary>ZooKeeper's path rules (<c>PathUtils.validatePath</c>); bad paths are the caller's error (<see cref="ArgumentException"/>).</summary>
internal static class PathValidation
{
    public static void Validate(string path, string paramName, bool sequential = false)
    {
        ArgumentNullException.ThrowIfNull(path, paramName);
        var reason = Check(path, sequential);
        if (reason is not null)
        {
            throw new ArgumentException($"Invalid ZooKeeper path \"{path}\": {reason}.", paramName);
        }
    }

    public static string? Check(string path, bool sequential = false)
    {
        if (path.Length == 0)
        {
            return "empty";
        }

        if (path[0] != '/')
        {
            return "must start with /";
        }

        if (path.Length == 1)
        {
            return null;
        }

        // A sequential create may end in '/': the server appends the 10-digit suffix.
        if (path[^1] == '/' && !sequential)
        {
            return "must not end with /";
        }

        var segmentStart = 1;
        for (var i = 1; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '/')
            {
                var segment = path.AsSpan(segmentStart, i - segmentStart);
                if (segment.Length == 0 && !(sequential && i == path.Length))
                {
                    return "empty segment";
                }

                if (segment is "." or "..")
                {
                    return "relative segment";
                }

                segmentStart = i + 1;
                continue;
            }

            var c = path[i];
            if (c == '\0')
            {
                return "NUL character";
            }

            if (c is (> '\u0000' and <= '\u001f') or (>= '\u007f' and <= '\u009f') or (>= '\ud800' and <= '\uf8ff') or (>= '\ufff0' and <= '\uffff'))
            {
                return $"invalid character U+{(int)c:X4}";
            }
        }

        return null;
    }
}
