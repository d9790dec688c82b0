using Datapath.App.Running;

namespace Datapath.App.Interactive.Commands;

/// <summary>start, start tx_first, stop, and the forward statistics (testpmd's run control).</summary>
public static class ForwardCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("start", "start packet forwarding", (ctx, _) => Start(ctx, 0)),
        new("start tx_first [<n>]", "send n bursts (default 1) on every stream, then start forwarding",
            (ctx, a) => Start(ctx, a.Has(2) ? a.Int(2) : 1)),
        new("stop", "stop forwarding and print the forward statistics", Stop),
        new("show fwd stats all", "forward statistics since start, per port and accumulated",
            (ctx, _) => ForwardStatsPrinter.Print(ctx.Out, ctx.Session)),
        new("clear fwd stats all", "zero the forward statistics", (ctx, _) => ctx.Session.ResetStats()),
    ];

    static void Start(CommandContext ctx, int txFirst)
    {
        if (ctx.Session.Running)
        {
            ctx.Out.WriteLine("Packet forwarding already started");
            return;
        }
        if (txFirst < 1 && txFirst != 0) throw new ArgumentException($"tx_first {txFirst}: give a number of bursts >= 1");
        ctx.Session.Start(txFirst);
        ConfigDisplay.Fwd(ctx.Out, ctx.Host);
        ConfigDisplay.RxTx(ctx.Out, ctx.Host);
    }

    static void Stop(CommandContext ctx, CommandArgs _)
    {
        if (!ctx.Session.Running)
        {
            ctx.Out.WriteLine("Packet forwarding not started");
            return;
        }
        ctx.Out.WriteLine("Telling cores to stop...");
        ctx.Out.WriteLine("Waiting for lcores to finish...");
        ctx.Session.Stop();
        ForwardStatsPrinter.Print(ctx.Out, ctx.Session);
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Done.");
    }
}
