using System.Text;

namespace Metrics.Coordination.Tool.Cli;

/// <summary>
/// Aligned columns as Go's <c>text/tabwriter</c> writes them with a space pad character and every cell tab-terminated
/// (promtool's tables): each column is as wide as its widest cell plus the padding, at least the minimum width, and
/// trailing cells are padded too (unless <c>padLastCell</c> is false, for help text).
/// </summary>
internal sealed class ColumnWriter(int minWidth, int padding, bool padLastCell = true)
{
    private readonly List<string[]> _rows = [];

    public void AddRow(params string[] cells) => _rows.Add(cells);

    public void WriteTo(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var columns = _rows.Count == 0 ? 0 : _rows.Max(r => r.Length);
        var widths = new int[columns];
        foreach (var row in _rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], Math.Max(minWidth, Width(row[i]) + padding));
            }
        }

        var line = new StringBuilder();
        foreach (var row in _rows)
        {
            line.Clear();
            for (var i = 0; i < row.Length; i++)
            {
                line.Append(row[i]);
                if (padLastCell || i < row.Length - 1)
                {
                    line.Append(' ', widths[i] - Width(row[i]));
                }
            }

            output.Write(line.Append('\n').ToString());
        }
    }

    // tabwriter measures cells in runes (code points), not UTF-16 units.
    private static int Width(string cell) => cell.EnumerateRunes().Count();
}
