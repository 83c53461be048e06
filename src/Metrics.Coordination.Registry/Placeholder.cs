namespace Metrics.Coordination.Registry;
