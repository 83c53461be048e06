using System.Runtime.InteropServices;

namespace Metrics.Coordination.Tsdb.Wal;

/// <summary>The few file-system calls .NET does not expose: fsync of a directory (needed after a rename or file creation so that the entry itself survives a power loss).</summary>
internal static partial class FileSystem
{
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000; // Linux x86-64 and arm64.

    /// <summary>fsyncs <paramref name="directory"/> on Linux; elsewhere a no-op (Windows has no directory fsync).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ORdonly | ODirectory);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} for fsync (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> (a directory or file) and fsyncs the parent.</summary>
    public static void RenameDurably(string from, string to, bool isDirectory)
    {
        if (isDirectory)
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to, overwrite: true);
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(to))!);
    }

    /// <summary>fsyncs every file under <paramref name="directory"/>, then the directories bottom-up.</summary>
    public static void SyncTree(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.FlushToDisk(handle);
        }

        foreach (var dir in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
        {
            SyncDirectory(dir);
        }

        SyncDirectory(directory);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
