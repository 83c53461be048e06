using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Writes and reads member node data in the serverset and Curator JSON formats (no reflection: AOT-safe).</summary>
internal static class ServiceJson
{
    public static byte[] WriteServerset(ServiceEndpoint endpoint, IEnumerable<KeyValuePair<string, ServiceEndpoint>> additional, string status, int? shard)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WritePropertyName("serviceEndpoint"u8);
            WriteEndpoint(json, endpoint);
            json.WritePropertyName("additionalEndpoints"u8);
            json.WriteStartObject();
            foreach (var (name, e) in additional)
            {
                json.WritePropertyName(name);
                WriteEndpoint(json, e);
            }

            json.WriteEndObject();
            json.WriteString("status"u8, status);
            if (shard is { } s)
            {
                json.WriteNumber("shard"u8, s);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Curator's <c>ServiceInstance</c>, fields in the order its Jackson serializer writes them; nulls written as <c>null</c>.</summary>
    public static byte[] WriteCurator(string name, string id, ServiceEndpoint endpoint, int? sslPort, string? payloadJson, long registrationTimeMs, bool sequential, string? uriSpec)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name"u8, name);
            json.WriteString("id"u8, id);
            json.WriteString("address"u8, endpoint.Host);
            json.WriteNumber("port"u8, endpoint.Port);
            if (sslPort is { } ssl)
            {
                json.WriteNumber("sslPort"u8, ssl);
            }
            else
            {
                json.WriteNull("sslPort"u8);
            }

            json.WritePropertyName("payload"u8);
            if (payloadJson is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteRawValue(payloadJson, skipInputValidation: false);
            }

            json.WriteNumber("registrationTimeUTC"u8, registrationTimeMs);
            json.WriteString("serviceType"u8, sequential ? "DYNAMIC_SEQUENTIAL" : "DYNAMIC");
            json.WritePropertyName("uriSpec"u8);
            if (uriSpec is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStartObject();
                json.WritePropertyName("parts"u8);
                json.WriteStartArray();
                foreach (var (value, variable) in ParseUriSpec(uriSpec))
                {
                    json.WriteStartObject();
                    json.WriteString("value"u8, value);
                    json.WriteBoolean("variable"u8, variable);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Curator's <c>UriSpec</c> split: <c>{name}</c> is a variable part, text between is a literal part.</summary>
    public static List<(string Value, bool Variable)> ParseUriSpec(string spec)
    {
        var parts = new List<(string, bool)>();
        var literal = new StringBuilder();
        for (var i = 0; i < spec.Length; i++)
        {
            if (spec[i] == '{')
            {
                var end = spec.IndexOf('}', i + 1);
                if (end < 0)
                {
                    throw new ArgumentException($"Unclosed '{{' at position {i} in the URI spec '{spec}'.", nameof(spec));
                }

                if (literal.Length > 0)
                {
                    parts.Add((literal.ToString(), false));
                    literal.Clear();
                }

                parts.Add((spec[(i + 1)..end], true));
                i = end;
            }
            else
            {
                literal.Append(spec[i]);
            }
        }

        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), false));
        }

        return parts;
    }

    public static ServiceMember ParseServerset(ReadOnlyMemory<byte> data)
    {
        using var document = JsonDocument.Parse(data);
        var root = Object(document.RootElement, "the member");
        var endpoint = ReadEndpoint(Required(root, "serviceEndpoint"), "serviceEndpoint");
        var additional = new Dictionary<string, ServiceEndpoint>(StringComparer.Ordinal);
        if (root.TryGetProperty("additionalEndpoints", out var extra) && extra.ValueKind != JsonValueKind.Null)
        {
            foreach (var property in Object(extra, "additionalEndpoints").EnumerateObject())
            {
                additional[property.Name] = ReadEndpoint(property.Value, "additionalEndpoints." + property.Name);
            }
        }

        string? status = null;
        if (root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
        {
            status = s.GetString();
        }

        int? shard = null;
        if (root.TryGetProperty("shard", out var sh) && sh.ValueKind == JsonValueKind.Number)
        {
            shard = sh.TryGetInt32(out var v) ? v : throw new JsonException("'shard' is not a 32-bit integer.");
        }

        return new ServiceMember { Endpoint = endpoint, AdditionalEndpoints = additional, Status = status, Shard = shard };
    }

    public static ServiceMember ParseCurator(ReadOnlyMemory<byte> data)
    {
        using var document = JsonDocument.Parse(data);
        var root = Object(document.RootElement, "the instance");
        var address = Required(root, "address");
        var port = Required(root, "port");
        if (address.ValueKind != JsonValueKind.String || !port.TryGetInt32(out var p))
        {
            throw new JsonException("'address' must be a string and 'port' an integer.");
        }

        int? sslPort = root.TryGetProperty("sslPort", out var ssl) && ssl.ValueKind == JsonValueKind.Number ? ssl.GetInt32() : null;
        string? payload = root.TryGetProperty("payload", out var pl) && pl.ValueKind != JsonValueKind.Null ? pl.GetRawText() : null;
        DateTimeOffset? registered = root.TryGetProperty("registrationTimeUTC", out var rt) && rt.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds(rt.GetInt64()) : null;
        string? uriSpec = null;
        if (root.TryGetProperty("uriSpec", out var us) && us.ValueKind == JsonValueKind.Object && us.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
        {
            var text = new StringBuilder();
            foreach (var part in parts.EnumerateArray())
            {
                var value = part.GetProperty("value").GetString();
                text.Append(part.TryGetProperty("variable", out var variable) && variable.ValueKind == JsonValueKind.True ? "{" + value + "}" : value);
            }

            uriSpec = text.ToString();
        }

        return new ServiceMember
        {
            Id = String(root, "id") ?? string.Empty,
            ServiceName = String(root, "name"),
            Endpoint = new ServiceEndpoint(address.GetString()!, p),
            SslPort = sslPort,
            PayloadJson = payload,
            RegistrationTime = registered,
            ServiceType = String(root, "serviceType"),
            UriSpec = uriSpec,
        };
    }

    private static void WriteEndpoint(Utf8JsonWriter json, ServiceEndpoint endpoint)
    {
        json.WriteStartObject();
        json.WriteString("host"u8, endpoint.Host);
        json.WriteNumber("port"u8, endpoint.Port);
        json.WriteEndObject();
    }

    private static ServiceEndpoint ReadEndpoint(JsonElement element, string what)
    {
        Object(element, what);
        var host = Required(element, "host", what);
        var port = Required(element, "port", what);
        if (host.ValueKind != JsonValueKind.String || port.ValueKind != JsonValueKind.Number || !port.TryGetInt32(out var p))
        {
            throw new JsonException($"'{what}' needs a string 'host' and an integer 'port'.");
        }

        return new ServiceEndpoint(host.GetString()!, p);
    }

    private static JsonElement Object(JsonElement element, string what) =>
        element.ValueKind == JsonValueKind.Object ? element : throw new JsonException($"{what} is a JSON {element.ValueKind}, not an object.");

    private static JsonElement Required(JsonElement element, string name, string? parent = null) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new JsonException($"'{(parent is null ? name : parent + "." + name)}' is missing.");

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
