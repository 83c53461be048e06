using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>How service members are written to (and read from) ZooKeeper.</summary>
public enum ServiceFormat
{
    /// <summary>
    /// Finagle serversets, as Prometheus's <c>serverset_sd_configs</c> and Finagle read them: ephemeral-sequential
    /// <c>member_&lt;10 digits&gt;</c> children of the serverset path, JSON <c>serviceEndpoint</c>
    /// <c>{host, port}</c>, <c>additionalEndpoints</c> <c>{name: {host, port}}</c>, <c>status</c> and optional <c>shard</c>.
    /// </summary>
    Serverset = 0,

    /// <summary>
    /// Curator service discovery (<c>curator-x-discovery</c>): <c>&lt;base path&gt;/&lt;service name&gt;/&lt;instance id&gt;</c>,
    /// JSON <c>ServiceInstance</c> (name, id, address, port, sslPort, payload, registrationTimeUTC, serviceType, uriSpec)
    /// as Curator's <c>JsonInstanceSerializer</c> writes it in its default (compatible) mode.
    /// </summary>
    Curator = 1,
}

/// <summary>A host and port.</summary>
/// <param name="Host">The host name or address.</param>
/// <param name="Port">The port (0–65535).</param>
public sealed record ServiceEndpoint(string Host, int Port)
{
    /// <summary><c>host:port</c> (IPv6 hosts in brackets).</summary>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>The serverset member statuses Finagle defines (<c>status</c> field).</summary>
public static class ServersetStatus
{
    /// <summary>Serving.</summary>
    public const string Alive = "ALIVE";

    /// <summary>Dead.</summary>
    public const string Dead = "DEAD";

    /// <summary>Starting up.</summary>
    public const string Starting = "STARTING";

    /// <summary>Shutting down.</summary>
    public const string Stopping = "STOPPING";

    /// <summary>Stopped.</summary>
    public const string Stopped = "STOPPED";

    /// <summary>Serving with a warning.</summary>
    public const string Warning = "WARNING";

    /// <summary>Unknown.</summary>
    public const string Unknown = "UNKNOWN";
}

/// <summary>A registered service member as discovered (or as registered, for <see cref="ZooKeeperServiceRegistration"/>).</summary>
public sealed record ServiceMember
{
    /// <summary>The member node's path.</summary>
    public string Path { get; init; } = string.Empty;

    /// <summary>The member id: the node name (serverset <c>member_…</c>) or the Curator instance id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The main endpoint (serverset <c>serviceEndpoint</c>; Curator <c>address</c> and <c>port</c>).</summary>
    public ServiceEndpoint Endpoint { get; init; } = new(string.Empty, 0);

    /// <summary>Named extra endpoints (serverset <c>additionalEndpoints</c>; empty for Curator).</summary>
    public IReadOnlyDictionary<string, ServiceEndpoint> AdditionalEndpoints { get; init; } = new Dictionary<string, ServiceEndpoint>();

    /// <summary>The serverset <c>status</c> (see <see cref="ServersetStatus"/>); null for Curator.</summary>
    public string? Status { get; init; }

    /// <summary>The serverset <c>shard</c>, when present.</summary>
    public int? Shard { get; init; }

    /// <summary>Curator: the service name.</summary>
    public string? ServiceName { get; init; }

    /// <summary>Curator: the TLS port, when present.</summary>
    public int? SslPort { get; init; }

    /// <summary>Curator: the payload as raw JSON text (Jackson writes an <c>@class</c> property in it), when present.</summary>
    public string? PayloadJson { get; init; }

    /// <summary>Curator: when the instance registered (<c>registrationTimeUTC</c>).</summary>
    public DateTimeOffset? RegistrationTime { get; init; }

    /// <summary>Curator: <c>DYNAMIC</c>, <c>DYNAMIC_SEQUENTIAL</c>, <c>STATIC</c> or <c>PERMANENT</c>.</summary>
    public string? ServiceType { get; init; }

    /// <summary>Curator: the URI template, e.g. <c>{scheme}://{address}:{port}/v1</c>, when present.</summary>
    public string? UriSpec { get; init; }

    /// <summary>The member node's metadata (<see cref="Stat.EphemeralOwner"/> is the registering session).</summary>
    public Stat Stat { get; init; }
}

/// <summary>A member appeared, changed or went away.</summary>
/// <param name="Kind">Created (joined), updated, or deleted (left).</param>
/// <param name="OldMember">The member before (null when it joined).</param>
/// <param name="NewMember">The member now (null when it left).</param>
public sealed record ServiceMemberChange(ConfigChangeKind Kind, ServiceMember? OldMember, ServiceMember? NewMember);

/// <summary>Settings of a <see cref="ZooKeeperServiceRegistration"/>. Validated and copied when registering.</summary>
public sealed class ServiceRegistrationOptions
{
    /// <summary>The serverset path (members are its children), or for <see cref="ServiceFormat.Curator"/> the base path. Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>The format. Default: <see cref="ServiceFormat.Serverset"/>.</summary>
    public ServiceFormat Format { get; set; } = ServiceFormat.Serverset;

    /// <summary>The main endpoint. Required.</summary>
    public ServiceEndpoint? Endpoint { get; set; }

    /// <summary>Serverset: named extra endpoints (<c>additionalEndpoints</c>). Default: none.</summary>
    public IDictionary<string, ServiceEndpoint> AdditionalEndpoints { get; } = new Dictionary<string, ServiceEndpoint>(StringComparer.Ordinal);

    /// <summary>Serverset: the <c>status</c>. Default: <see cref="ServersetStatus.Alive"/>.</summary>
    public string Status { get; set; } = ServersetStatus.Alive;

    /// <summary>Serverset: the <c>shard</c> (written only when set). Default: none.</summary>
    public int? Shard { get; set; }

    /// <summary>Curator: the service name (the child of <see cref="Path"/> that holds the instances). Required for Curator.</summary>
    public string? ServiceName { get; set; }

    /// <summary>Curator: the instance id (the node name). Default: a new GUID.</summary>
    public string? InstanceId { get; set; }

    /// <summary>Curator: the TLS port. Default: none (<c>null</c>).</summary>
    public int? SslPort { get; set; }

    /// <summary>Curator: the payload, as raw JSON text written as is. Default: none (<c>null</c>).</summary>
    public string? PayloadJson { get; set; }

    /// <summary>Curator: a URI template such as <c>{scheme}://{address}:{port}</c>, written as Curator's <c>uriSpec</c> parts. Default: none.</summary>
    public string? UriSpec { get; set; }

    /// <summary>Curator: register <c>DYNAMIC_SEQUENTIAL</c> (ephemeral-sequential node) instead of <c>DYNAMIC</c> (ephemeral). Default: false.</summary>
    public bool Sequential { get; set; }

    /// <summary>The ACL of the member node. Default: <see cref="Acls.OpenUnsafe"/> (Prometheus reads without credentials).</summary>
    public IReadOnlyList<Acl> Acl { get; set; } = Acls.OpenUnsafe;

    /// <summary>The clock for <c>registrationTimeUTC</c> and retry delays. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the registration logs. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the meter for the <c>zookeeper.recipe.*</c> counters. Default: null (own meter).</summary>
    public IMeterFactory? MeterFactory { get; set; }
}

/// <summary>Settings of a <see cref="ZooKeeperServiceDiscovery"/>.</summary>
public sealed class ServiceDiscoveryOptions
{
    /// <summary>The serverset path, or for <see cref="ServiceFormat.Curator"/> the base path. Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>The format. Default: <see cref="ServiceFormat.Serverset"/>.</summary>
    public ServiceFormat Format { get; set; } = ServiceFormat.Serverset;

    /// <summary>Curator: the service name. Required for Curator.</summary>
    public string? ServiceName { get; set; }

    /// <summary>Where the reader logs. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock for retry delays. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Creates the meter for the <c>zookeeper.recipe.*</c> counters. Default: null (own meter).</summary>
    public IMeterFactory? MeterFactory { get; set; }
}
