// System.Linq (an implicit using) has an IQueryable too.
global using IQueryable = Metrics.Coordination.Abstractions.Storage.IQueryable;
