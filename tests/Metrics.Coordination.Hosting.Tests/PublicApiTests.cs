using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>Public API snapshot and event-ID range of the package (Hosting owns 5000-5999).</summary>
public sealed class PublicApiTests() : PackageConventionTests(typeof(MetricsCoordinationOptions), 5000, 6000);
