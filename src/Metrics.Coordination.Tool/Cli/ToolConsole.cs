namespace Metrics.Coordination.Tool.Cli;

/// <summary>The standard streams a command uses, so commands can run in-process against buffers in tests.</summary>
/// <param name="Input">Standard input, read as bytes (exposition is UTF-8 and parsed from bytes).</param>
/// <param name="Out">Standard output: results (lint findings, tables).</param>
/// <param name="Error">Standard error: usage and error messages.</param>
internal sealed record ToolConsole(Stream Input, TextWriter Out, TextWriter Error)
{
    /// <summary>The process's own streams, written as UTF-8 with <c>\n</c> line ends on every platform.</summary>
    public static ToolConsole FromProcess()
    {
        var encoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var output = new StreamWriter(Console.OpenStandardOutput(), encoding) { AutoFlush = true, NewLine = "\n" };
        var error = new StreamWriter(Console.OpenStandardError(), encoding) { AutoFlush = true, NewLine = "\n" };
        return new ToolConsole(Console.OpenStandardInput(), output, error);
    }
}
