using Datapath.App.Running;

namespace Datapath.App.Interactive.Commands;

/// <summary>show config fwd|rxtx|cores.</summary>
public static class ConfigCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("show config fwd", "streams and the lcores that poll them", (ctx, _) => ConfigDisplay.Fwd(ctx.Out, ctx.Host)),
        new("show config rxtx", "burst, queues and descriptors per port", (ctx, _) => ConfigDisplay.RxTx(ctx.Out, ctx.Host)),
        new("show config cores", "the forwarding lcores", (ctx, _) => ConfigDisplay.Cores(ctx.Out, ctx.Host)),
    ];
}
