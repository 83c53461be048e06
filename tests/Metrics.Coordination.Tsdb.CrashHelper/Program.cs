using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb;

// Usage: CrashHelper <dir> <PerCommit|Interval|None> <series> [segmentSize] [blockDurationMs] [pauseMs]
// Opens the database (replaying its WAL), resumes after the newest batch found, then forever: appends one sample per
// series for batch b at t = Start + b * 1000 with value b * 1000 + series, commits, and prints "C <b>" only after
// Commit returned. With a block duration, it also runs head compaction after every commit (a block is cut whenever
// the head spans 1.5 ranges, then the WAL is checkpointed, then blocks are compacted level by level: 1 min, 3 min,
// 9 min ...), so kills land in block writing, checkpointing and leveled compaction too. "L compact" is printed just
// before a compacted block is written, "L compact-swapped" after it is in place and before its parents are deleted.
// The parent kills it with SIGKILL at a random moment and checks every acknowledged batch survived. With pauseMs, it
// waits that long after each batch (a paced writer for tests that read the directory while it runs).
const long Start = 1_699_999_200_000;
var dir = args[0];
var policy = Enum.Parse<WalFsyncPolicy>(args[1]);
var seriesCount = int.Parse(args[2], CultureInfo.InvariantCulture);
var segmentSize = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : TsdbOptions.DefaultWalSegmentSize;
var blockMs = args.Length > 4 ? long.Parse(args[4], CultureInfo.InvariantCulture) : 0;
var pauseMs = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 0;

using var db = TimeSeriesDatabase.Open(new TsdbOptions
{
    Directory = dir,
    WalFsyncPolicy = policy,
    WalSegmentSize = segmentSize,
    BlockDuration = blockMs > 0 ? TimeSpan.FromMilliseconds(blockMs) : TimeSpan.FromHours(2),
});
var next = 0L;
using (var q = db.Querier(long.MinValue, long.MaxValue))
{
    foreach (var s in q.Select(false, default))
    {
        var it = s.Iterator();
        while (it.Next())
        {
            next = Math.Max(next, ((it.Timestamp - Start) / 1000) + 1);
        }
    }
}

var labels = new Labels[seriesCount];
for (var i = 0; i < seriesCount; i++)
{
    labels[i] = Labels.FromStrings("__name__", "crash", "series", i.ToString(CultureInfo.InvariantCulture));
}

var refs = new SeriesRef[seriesCount];
var stdout = Console.Out;
db.CompactionHook = stage =>
{
    stdout.WriteLine($"L {stage}");
    stdout.Flush();
};
stdout.WriteLine($"R {next}");
stdout.Flush();
for (var b = next; ; b++)
{
    var app = db.Appender();
    for (var i = 0; i < seriesCount; i++)
    {
        refs[i] = app.Append(new AppendRequest { Ref = refs[i], Labels = labels[i], TimestampMs = Start + (b * 1000), Value = (b * 1000.0) + i });
    }

    app.Commit();
    stdout.WriteLine($"C {b}");
    stdout.Flush();
    var stats = db.GetStatistics();
    if (blockMs > 0 && stats.HeadMaxTime - stats.HeadMinTime > blockMs / 2 * 3)
    {
        // "S": a block is about to be cut (the parent may kill right now); "B": cut, head truncated, WAL checkpointed.
        stdout.WriteLine($"S {b}");
        stdout.Flush();
        db.Compact();
        stdout.WriteLine($"B {b}");
        stdout.Flush();
    }

    if (pauseMs > 0)
    {
        await Task.Delay(pauseMs);
    }
}
