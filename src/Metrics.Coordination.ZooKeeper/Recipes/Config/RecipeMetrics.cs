using System.Diagnostics.Metrics;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Counters of the config, discovery and lock recipes on the package's <c>Metrics.Coordination.ZooKeeper</c> meter,
/// tagged <c>zookeeper.recipe</c> (kind) and <c>zookeeper.recipe.path</c>.
/// </summary>
internal sealed class RecipeMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly Counter<long> _parseErrors;
    private readonly Counter<long> _handlerErrors;
    private readonly Counter<long> _changes;
    private readonly Counter<long> _resyncs;
    private readonly Counter<long> _sessions;

    public RecipeMetrics(IMeterFactory? factory, string recipe, string path)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(ClientMetrics.MeterName)) ?? new Meter(ClientMetrics.MeterName);
        _tags = [new("zookeeper.recipe", recipe), new("zookeeper.recipe.path", path)];
        _parseErrors = _meter.CreateCounter<long>("zookeeper.recipe.parse_errors", "{error}", "Node contents a recipe could not parse (the last good value is kept).");
        _handlerErrors = _meter.CreateCounter<long>("zookeeper.recipe.handler_errors", "{error}", "Exceptions thrown by a recipe's user callbacks (caught and logged).");
        _changes = _meter.CreateCounter<long>("zookeeper.recipe.changes", "{change}", "Changes a recipe reported (config values, members).");
        _resyncs = _meter.CreateCounter<long>("zookeeper.recipe.resyncs", "{resync}", "Full re-reads after a (re)connect or a new session.");
        _sessions = _meter.CreateCounter<long>("zookeeper.recipe.sessions", "{session}", "Sessions a recipe (re)started on (initial and after an expiry).");
    }

    public void ParseError() => _parseErrors.Add(1, _tags);

    public void HandlerError() => _handlerErrors.Add(1, _tags);

    public void Change() => _changes.Add(1, _tags);

    public void Resync() => _resyncs.Add(1, _tags);

    public void Session() => _sessions.Add(1, _tags);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
