namespace Metrics.Coordination.Testing;

/// <summary>
/// Finds the executables of real peers (Prometheus, promtool, Alertmanager, ...). Integration tests fail, never skip,
/// when one is missing, so a CI machine without the packages cannot pass by accident.
/// </summary>
public static class PeerBinary
{
    /// <summary>How to install Prometheus and promtool (Debian bookworm: 2.42).</summary>
    public const string PrometheusInstallHint = "apt-get install -y --no-install-recommends prometheus";

    private static readonly string[] WellKnownDirectories = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin"];

    /// <summary>The <c>prometheus</c> server binary.</summary>
    public static string Prometheus => Find("prometheus", PrometheusInstallHint);

    /// <summary>The <c>promtool</c> binary (same Debian package as the server).</summary>
    public static string Promtool => Find("promtool", PrometheusInstallHint);

    /// <summary>
    /// The full path of <paramref name="name"/>: from the environment variable <c>MC_PEER_{NAME}</c> (upper case,
    /// dashes as underscores) when set, else the first match on <c>PATH</c> or in the usual bin directories.
    /// </summary>
    /// <param name="name">The executable's file name, such as <c>prometheus</c>.</param>
    /// <param name="installHint">The command that installs it, shown in the failure message.</param>
    /// <exception cref="AssertionException">The executable is not installed (fails the test, naming the package).</exception>
    public static string Find(string name, string installHint)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var variable = "MC_PEER_" + name.ToUpperInvariant().Replace('-', '_');
        var overridden = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(overridden))
        {
            if (File.Exists(overridden))
            {
                return overridden;
            }

            throw new AssertionException($"{variable}={overridden} names no file. Unset it or point it at the '{name}' executable.");
        }

        var searched = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(WellKnownDirectories)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var directory in searched)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new AssertionException(
            $"The real peer '{name}' is not installed, and integration tests need it (they fail rather than skip). " +
            $"Install it with: sudo {installHint} (as root without sudo; see shared/reference/peers.md), " +
            $"or set {variable} to its path. Searched: {string.Join(", ", searched)}.");
    }
}
