namespace Metrics.Coordination.AspNetCore;
