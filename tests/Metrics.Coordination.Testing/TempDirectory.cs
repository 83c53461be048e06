namespace Metrics.Coordination.Testing;

/// <summary>A fresh directory under the system temp folder, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates <c>$TMPDIR/mc-{prefix}-{random}</c>.</summary>
    public TempDirectory(string prefix = "test")
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mc-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>A path inside the directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Deletes the directory. A process still writing into it (being killed) can make one attempt fail, so it retries briefly.</summary>
    public void Dispose()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    Directory.Delete(Path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Task.Delay(100).Wait();
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                Task.Delay(100).Wait();
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => Path;
}
