using System.Globalization;
using System.Text;
using Metrics.Coordination.Rules.Notifications;

namespace Metrics.Coordination.Rules;

/// <summary>
/// Alert state hand-over between leaders (see <see cref="IAlertStateStore"/>): the group remembers the term whose
/// published state it adopted and sends only in that term; after an evaluation the leader publishes what changed.
/// </summary>
internal sealed partial class RuleGroup
{
    // Owned by the group's loop (one evaluation at a time), read by SendAlerts on the same loop.
    private long? _adoptedTerm;
    private int _loadFailures;
    private string? _publishedSignature;
    private long? _publishedTerm;
    private long? _fencedTerm;

    /// <summary>
    /// Whether alerts may be sent now: the gate leads, and (with a store) the group adopted the published state in the
    /// gate's current term. The token is read before the flag, so a term starting in between fails the comparison.
    /// </summary>
    private bool MaySend(RuleEnvironment env)
    {
        var token = env.LeadershipGate.FencingToken;
        if (!env.LeadershipGate.IsLeader)
        {
            return false;
        }

        return env.AlertStateStore is null || _adoptedTerm == token;
    }

    /// <summary>
    /// When this replica leads in a term it has not adopted state for, loads the group's published state and adopts the
    /// clocks of the alerts it also has. A failed load leaves the term unadopted (nothing is sent; retried at the next
    /// evaluation) until <see cref="RuleEnvironment.AlertStateLoadAttempts"/> attempts failed; then the group sends from
    /// its own state.
    /// </summary>
    public async Task AdoptPublishedStateAsync(RuleEnvironment env, CancellationToken cancellationToken)
    {
        var store = env.AlertStateStore!;
        var token = env.LeadershipGate.FencingToken;
        if (!env.LeadershipGate.IsLeader || _adoptedTerm == token)
        {
            return;
        }

        AlertGroupState? state;
        using (var timeout = new CancellationTokenSource(env.AlertStateTimeout, env.TimeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                state = await store.LoadAsync(Key, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                _loadFailures++;
                env.Metrics?.AlertStateOperations.WithLabels("load", "error").Inc();
                if (_loadFailures >= env.AlertStateLoadAttempts)
                {
                    Log.AlertStateLoadGaveUp(env.Logger, Key, token, _loadFailures, e);
                    _adoptedTerm = token;
                    _loadFailures = 0;
                }
                else
                {
                    Log.AlertStateLoadFailed(env.Logger, Key, token, _loadFailures, e);
                }

                return;
            }
        }

        env.Metrics?.AlertStateOperations.WithLabels("load", "ok").Inc();
        _loadFailures = 0;
        var adopted = 0;
        if (state is not null && state.GroupKey == Key)
        {
            foreach (var rule in Rules.OfType<AlertingRule>())
            {
                adopted += rule.Adopt(state.Alerts);
            }
        }

        _adoptedTerm = token;
        Log.AlertStateAdopted(env.Logger, Key, token, adopted, state?.Alerts.Count ?? 0, state?.FencingToken ?? 0, state?.Publisher ?? "");
    }

    /// <summary>
    /// When this replica leads in the term it adopted state for, publishes the group's alerts if they changed since the
    /// last publication (or the term did). A failure is logged and retried after the next evaluation; a fenced
    /// publication (a newer leader published) is logged once per term.
    /// </summary>
    public async Task PublishStateAsync(RuleEnvironment env, long nowMs, CancellationToken cancellationToken)
    {
        var store = env.AlertStateStore!;
        var token = env.LeadershipGate.FencingToken;
        if (!env.LeadershipGate.IsLeader || _adoptedTerm != token || _fencedTerm == token)
        {
            return;
        }

        var alerts = new List<PublishedAlert>();
        foreach (var rule in Rules.OfType<AlertingRule>())
        {
            rule.Export(alerts);
        }

        var signature = Signature(alerts);
        if (_publishedTerm == token && _publishedSignature == signature)
        {
            return;
        }

        var state = new AlertGroupState
        {
            GroupKey = Key,
            FencingToken = token,
            Publisher = env.InstanceId,
            PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(nowMs),
            Alerts = alerts,
        };
        AlertStatePublishResult result;
        using (var timeout = new CancellationTokenSource(env.AlertStateTimeout, env.TimeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                result = await store.PublishAsync(state, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                env.Metrics?.AlertStateOperations.WithLabels("publish", "error").Inc();
                Log.AlertStatePublishFailed(env.Logger, Key, token, e);
                return;
            }
        }

        if (result == AlertStatePublishResult.Fenced)
        {
            env.Metrics?.AlertStateOperations.WithLabels("publish", "fenced").Inc();
            _fencedTerm = token;
            Log.AlertStatePublishFenced(env.Logger, Key, token);
            return;
        }

        env.Metrics?.AlertStateOperations.WithLabels("publish", "ok").Inc();
        _publishedTerm = token;
        _publishedSignature = signature;
    }

    /// <summary>Keeps the adopted term over a reload that kept the group (the carried-over alerts are already adopted).</summary>
    private void CopyHandOverStateFrom(RuleGroup old)
    {
        _adoptedTerm = old._adoptedTerm;
        _fencedTerm = old._fencedTerm;
    }

    /// <summary>What a publication would say, without the value and annotations (which change without changing the hand-over state).</summary>
    private static string Signature(List<PublishedAlert> alerts)
    {
        var text = new StringBuilder(alerts.Count * 64);
        foreach (var a in alerts.OrderBy(a => a.Rule, StringComparer.Ordinal).ThenBy(a => a.Fingerprint))
        {
            text.Append(CultureInfo.InvariantCulture, $"{a.Rule}|{a.Fingerprint:x}|{(int)a.State}|{a.ActiveAt.ToUnixTimeMilliseconds()}|{a.FiredAt?.ToUnixTimeMilliseconds()}|{a.ResolvedAt?.ToUnixTimeMilliseconds()}|{a.LastSentAt?.ToUnixTimeMilliseconds()}|{a.ValidUntil?.ToUnixTimeMilliseconds()}|{a.KeepFiringSince?.ToUnixTimeMilliseconds()}\n");
        }

        return text.ToString();
    }
}
