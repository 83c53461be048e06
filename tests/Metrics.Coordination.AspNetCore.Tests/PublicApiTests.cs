using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>Public API snapshot and event-ID range of the package (Registry 1000-1899, AspNetCore 1900-1999, Tsdb 2000s, Rules 3000s, ZooKeeper 4000-4799, ZooKeeper.Monitoring 4800s, Hosting 5000s, RemoteWrite 6000s).</summary>
public sealed class PublicApiTests() : PackageConventionTests(typeof(Metrics.Coordination.AspNetCore.MetricsEndpointRouteBuilderExtensions), 1900, 2000);
