using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// An <see cref="IAlertStateStore"/> in ZooKeeper: one persistent znode per rule group under
/// <see cref="RootPath"/>, named by the group key (URL-escaped, so <c>/</c> becomes <c>%2F</c>), holding the group's
/// state as UTF-8 JSON (format below). Parents are created as containers.
/// </summary>
/// <remarks>
/// <para>
/// A publication reads the znode, refuses (returns <see cref="AlertStatePublishResult.Fenced"/>) when the stored
/// <c>fencingToken</c> is higher than the new one, and otherwise writes with the version it read (a conditional
/// <c>setData</c>; a create when the znode does not exist). A concurrent write makes the version check fail and the
/// publication starts over, so a deposed leader can never overwrite a newer term's state, even when both write at once.
/// </para>
/// <para>
/// JSON: <c>{"version":1,"groupKey":"file;group","fencingToken":123,"publisher":"replica-a","publishedAtMs":...,
/// "alerts":[{"rule":"A","fingerprint":"9f0c...","labels":{"alertname":"A",...},"state":"firing","activeAtMs":...,
/// "firedAtMs":...,"resolvedAtMs":null,"lastSentAtMs":...,"validUntilMs":...,"keepFiringSinceMs":null,"lastSentTerm":123}]}</c>;
/// times are Unix milliseconds, the fingerprint is the label set's 64-bit hash in hexadecimal, the state is
/// <c>pending</c>, <c>firing</c> or <c>inactive</c>. A znode that is not in this format fails the load with an
/// <see cref="InvalidDataException"/> naming the path.
/// </para>
/// </remarks>
public sealed class ZooKeeperAlertStateStore : IAlertStateStore
{
    /// <summary>The default parent znode of the groups' znodes.</summary>
    public const string DefaultRootPath = "/metrics-coordination/alert-state";

    // ZooKeeper's default jute.maxbuffer is 1 MiB per request; stay well under it so a group's state is never the
    // request that breaks the connection ("Packet len N is out of range"). ~300 bytes per alert: about 1,700 alerts.
    private const int MaxStateBytes = 512 * 1024;

    // A conditional write can lose to a concurrent writer; each retry re-reads (and a lower token then stops at the
    // fence). Every lost race means another writer made progress, so a bounded number of rounds is plenty; in a fleet
    // at most two terms overlap in the store (a deposed leader's last write and its successor's first).
    private const int MaxAttempts = 20;

    private readonly RecoveringZooKeeperClient _client;

    /// <summary>Creates a store on <paramref name="client"/> under <paramref name="rootPath"/>.</summary>
    /// <exception cref="ArgumentException">The root path is not a valid absolute ZooKeeper path.</exception>
    public ZooKeeperAlertStateStore(RecoveringZooKeeperClient client, string rootPath = DefaultRootPath)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        if (rootPath[0] != '/' || (rootPath.Length > 1 && rootPath[^1] == '/') || rootPath.Contains("//", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{rootPath}' is not an absolute ZooKeeper path (like /metrics-coordination/alert-state).", nameof(rootPath));
        }

        _client = client;
        RootPath = rootPath;
    }

    /// <summary>The parent znode of the groups' znodes.</summary>
    public string RootPath { get; }

    /// <summary>The znode that holds <paramref name="groupKey"/>'s state.</summary>
    public string PathOf(string groupKey)
    {
        ArgumentNullException.ThrowIfNull(groupKey);
        return (RootPath == "/" ? "/" : RootPath + "/") + Uri.EscapeDataString(groupKey);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The state is larger than the store takes (512 KiB of JSON).</exception>
    public async ValueTask<AlertStatePublishResult> PublishAsync(AlertGroupState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var path = PathOf(state.GroupKey);
        var body = AlertStateJson.Write(state);
        if (body.Length > MaxStateBytes)
        {
            throw new InvalidOperationException($"The alert state of group '{state.GroupKey}' is {body.Length} bytes of JSON ({state.Alerts.Count} alerts); the ZooKeeper store takes at most {MaxStateBytes} bytes per group.");
        }

        for (var attempt = 1; ; attempt++)
        {
            var client = await _client.GetClientAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var current = await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (AlertStateJson.ReadToken(current.Data, path) > state.FencingToken)
                {
                    return AlertStatePublishResult.Fenced;
                }

                await client.SetDataAsync(path, body, current.Stat.Version, cancellationToken).ConfigureAwait(false);
                return AlertStatePublishResult.Published;
            }
            catch (BadVersionException) when (attempt < MaxAttempts)
            {
                // Written meanwhile: read again and re-check the token.
            }
            catch (NoNodeException)
            {
                try
                {
                    await EnsureParentsAsync(client, RootPath, cancellationToken).ConfigureAwait(false);
                    await client.CreateAsync(path, body, CreateMode.Persistent, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return AlertStatePublishResult.Published;
                }
                catch (NodeExistsException) when (attempt < MaxAttempts)
                {
                    // Created meanwhile: read it and re-check the token.
                }
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The znode does not hold alert state in this store's format.</exception>
    public async ValueTask<AlertGroupState?> LoadAsync(string groupKey, CancellationToken cancellationToken = default)
    {
        var path = PathOf(groupKey);
        var client = await _client.GetClientAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var data = await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            return AlertStateJson.Read(data.Data, path);
        }
        catch (NoNodeException)
        {
            return null;
        }
    }

    /// <summary>Creates every missing ancestor of <paramref name="path"/> and the path itself as containers.</summary>
    private static async Task EnsureParentsAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        var index = 0;
        while (index < path.Length)
        {
            var next = path.IndexOf('/', index + 1);
            var current = next < 0 ? path : path[..next];
            try
            {
                await client.CreateAsync(current, ReadOnlyMemory<byte>.Empty, CreateMode.Container, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NodeExistsException)
            {
                // Already there.
            }

            if (next < 0)
            {
                break;
            }

            index = next;
        }
    }
}

/// <summary>The JSON form of an <see cref="AlertGroupState"/> (see <see cref="ZooKeeperAlertStateStore"/>).</summary>
internal static class AlertStateJson
{
    public const int FormatVersion = 1;

    public static byte[] Write(AlertGroupState state)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (state.Alerts.Count * 320));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("version"u8, FormatVersion);
            json.WriteString("groupKey"u8, state.GroupKey);
            json.WriteNumber("fencingToken"u8, state.FencingToken);
            json.WriteString("publisher"u8, state.Publisher);
            json.WriteNumber("publishedAtMs"u8, state.PublishedAt.ToUnixTimeMilliseconds());
            json.WriteStartArray("alerts"u8);
            foreach (var a in state.Alerts)
            {
                json.WriteStartObject();
                json.WriteString("rule"u8, a.Rule);
                json.WriteString("fingerprint"u8, a.Fingerprint.ToString("x16", CultureInfo.InvariantCulture));
                json.WriteStartObject("labels"u8);
                foreach (ref readonly var l in a.Labels.AsSpan())
                {
                    json.WriteString(l.Name, l.Value);
                }

                json.WriteEndObject();
                json.WriteString("state"u8, a.State switch { AlertState.Firing => "firing", AlertState.Pending => "pending", _ => "inactive" });
                json.WriteNumber("activeAtMs"u8, a.ActiveAt.ToUnixTimeMilliseconds());
                WriteTime(json, "firedAtMs"u8, a.FiredAt);
                WriteTime(json, "resolvedAtMs"u8, a.ResolvedAt);
                WriteTime(json, "lastSentAtMs"u8, a.LastSentAt);
                WriteTime(json, "validUntilMs"u8, a.ValidUntil);
                WriteTime(json, "keepFiringSinceMs"u8, a.KeepFiringSince);
                json.WriteNumber("lastSentTerm"u8, a.LastSentTerm);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Only the fencing token (what a publication compares); an empty znode has token 0.</summary>
    public static long ReadToken(ReadOnlySpan<byte> data, string path)
    {
        if (data.IsEmpty)
        {
            return 0;
        }

        try
        {
            using var document = JsonDocument.Parse(data.ToArray());
            return document.RootElement.GetProperty("fencingToken").GetInt64();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"ZooKeeper node {path} does not hold alert state (no numeric fencingToken): {e.Message}", e);
        }
    }

    public static AlertGroupState? Read(ReadOnlySpan<byte> data, string path)
    {
        if (data.IsEmpty)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(data.ToArray());
            var root = document.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"ZooKeeper node {path} holds alert state format version {version}; this version reads {FormatVersion}.");
            }

            var alerts = new List<PublishedAlert>();
            var index = 0;
            foreach (var a in root.GetProperty("alerts").EnumerateArray())
            {
                var labels = new List<Label>();
                foreach (var l in a.GetProperty("labels").EnumerateObject())
                {
                    labels.Add(new Label(l.Name, l.Value.GetString()!));
                }

                var state = a.GetProperty("state").GetString() switch
                {
                    "firing" => AlertState.Firing,
                    "pending" => AlertState.Pending,
                    "inactive" => AlertState.Inactive,
                    var other => throw new InvalidDataException($"ZooKeeper node {path}: alert {index} has state '{other}' (expected pending, firing or inactive)."),
                };
                alerts.Add(new PublishedAlert
                {
                    Rule = a.GetProperty("rule").GetString()!,
                    Fingerprint = ulong.Parse(a.GetProperty("fingerprint").GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    Labels = Labels.From([.. labels]),
                    State = state,
                    ActiveAt = DateTimeOffset.FromUnixTimeMilliseconds(a.GetProperty("activeAtMs").GetInt64()),
                    FiredAt = ReadTime(a, "firedAtMs"),
                    ResolvedAt = ReadTime(a, "resolvedAtMs"),
                    LastSentAt = ReadTime(a, "lastSentAtMs"),
                    ValidUntil = ReadTime(a, "validUntilMs"),
                    KeepFiringSince = ReadTime(a, "keepFiringSinceMs"),
                    LastSentTerm = a.TryGetProperty("lastSentTerm", out var t) ? t.GetInt64() : 0,
                });
                index++;
            }

            return new AlertGroupState
            {
                GroupKey = root.GetProperty("groupKey").GetString()!,
                FencingToken = root.GetProperty("fencingToken").GetInt64(),
                Publisher = root.TryGetProperty("publisher", out var p) ? p.GetString() ?? string.Empty : string.Empty,
                PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("publishedAtMs").GetInt64()),
                Alerts = alerts,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidDataException($"ZooKeeper node {path} does not hold alert state in the expected JSON format: {e.Message}", e);
        }
    }

    private static void WriteTime(Utf8JsonWriter json, ReadOnlySpan<byte> name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v.ToUnixTimeMilliseconds());
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static DateTimeOffset? ReadTime(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds(v.GetInt64()) : null;
}
