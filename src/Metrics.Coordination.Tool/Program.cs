using Metrics.Coordination.Tool;
using Metrics.Coordination.Tool.Cli;

// Entry point only: the verb tree and dispatch live in Mctl, each verb in its own Command class.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

return await Mctl.RunAsync(args, ToolConsole.FromProcess(), cancellation.Token).ConfigureAwait(false);
