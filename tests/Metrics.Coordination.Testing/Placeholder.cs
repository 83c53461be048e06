namespace Metrics.Coordination.Testing;
