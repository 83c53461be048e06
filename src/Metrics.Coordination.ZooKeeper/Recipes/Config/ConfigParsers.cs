using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using YamlDotNet.Serialization;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Ready-made parsers for <see cref="ZooKeeperConfigWatcherOptions{T}.Parser"/>.</summary>
public static class ConfigParsers
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The node's bytes as UTF-8 text (invalid sequences throw, so a corrupt node is reported, not garbled).</summary>
    public static Func<ReadOnlyMemory<byte>, string> Utf8 { get; } = static data => StrictUtf8.GetString(data.Span);

    /// <summary>
    /// System.Text.Json with source-generated metadata (trimming- and AOT-safe). Empty data and a JSON <c>null</c>
    /// throw, so a cleared node is reported as a parse error rather than becoming a null value.
    /// </summary>
    public static Func<ReadOnlyMemory<byte>, T> Json<T>(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return data => JsonSerializer.Deserialize(data.Span, typeInfo) ?? throw new JsonException($"The JSON document is null where a {typeof(T).Name} was expected.");
    }

    /// <summary>System.Text.Json by reflection (default: web defaults, case-insensitive names). Empty data and <c>null</c> throw.</summary>
    [RequiresUnreferencedCode("Reflection-based JSON; use the JsonTypeInfo overload when trimming.")]
    [RequiresDynamicCode("Reflection-based JSON; use the JsonTypeInfo overload for native AOT.")]
    public static Func<ReadOnlyMemory<byte>, T> Json<T>(JsonSerializerOptions? options = null)
    {
        var o = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        return data => JsonSerializer.Deserialize<T>(data.Span, o) ?? throw new JsonException($"The JSON document is null where a {typeof(T).Name} was expected.");
    }

    /// <summary>
    /// YAML through YamlDotNet (default deserializer: camelCase names, unknown properties are errors, so a typo is
    /// reported instead of silently ignored). Empty documents throw.
    /// </summary>
    [RequiresUnreferencedCode("YamlDotNet's default deserializer uses reflection.")]
    [RequiresDynamicCode("YamlDotNet's default deserializer uses reflection.")]
    public static Func<ReadOnlyMemory<byte>, T> Yaml<T>(IDeserializer? deserializer = null)
    {
        var d = deserializer ?? new DeserializerBuilder()
            .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.CamelCaseNamingConvention.Instance)
            .Build();
        return data =>
        {
            var text = StrictUtf8.GetString(data.Span);
            return d.Deserialize<T>(text) ?? throw new FormatException($"The YAML document is empty where a {typeof(T).Name} was expected.");
        };
    }
}
