namespace Metrics.Coordination.Tool.Cli;

/// <summary>Process exit codes; 0, 1 and 3 are promtool's, 2 is the usual code for a command-line mistake.</summary>
internal static class ExitCodes
{
    /// <summary>Everything checked out.</summary>
    public const int Success = 0;

    /// <summary>The input could not be read or parsed, or the operation failed.</summary>
    public const int Failure = 1;

    /// <summary>Bad command line, or help was asked for: usage went to standard error.</summary>
    public const int Usage = 2;

    /// <summary>The input was read, but lint found problems (promtool's <c>lintErrExitCode</c>).</summary>
    public const int LintProblems = 3;

    /// <summary>Interrupted by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
