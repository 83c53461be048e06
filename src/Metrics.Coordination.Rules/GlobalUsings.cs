// System.IO (an implicit using) has a MatchType too.
global using MatchType = Metrics.Coordination.Abstractions.MatchType;

// System.Linq (an implicit using) has an IQueryable too.
global using IQueryable = Metrics.Coordination.Abstractions.Storage.IQueryable;
