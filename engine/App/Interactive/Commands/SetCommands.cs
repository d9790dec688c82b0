using Datapath.App.Options;
using Datapath.Engine.Forwarding;

namespace Datapath.App.Interactive.Commands;

/// <summary>
/// set fwd|burst|txpkts|nbcore|record-burst-stats: change the forwarding configuration while stopped. The streams are
/// rebuilt at once so a value the engine cannot take is refused here, not at the next start.
/// </summary>
public static class SetCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("set fwd <mode>", $"forwarding mode: {string.Join(", ", ForwardModes.Names)}",
            (ctx, a) => Set(ctx, c => c with { Mode = a[2] }, $"Set {a[2]} packet forwarding mode")),
        new("set burst <n>", $"packets per burst (1..{ForwardingConfig.MaxBurst})",
            (ctx, a) => Set(ctx, c => c with { BurstSize = a.Int(2) }, $"Number of packets per burst set to {a[2]}")),
        new("set txpkts <lengths>", "segment lengths of generated packets: 64 or 14,50",
            (ctx, a) => Set(ctx, c => c with { TxPacketSegments = ParseLengths(a[2]) }, $"Packet segment lengths set to {a[2]}")),
        new("set nbcore <n>", "number of forwarding lcores",
            (ctx, a) => Set(ctx, c => c with { Cores = a.Int(2) }, $"Number of forwarding cores set to {a[2]}")),
        new("set record-burst-stats on|off", "count bursts by size per stream, shown by show fwd stats and stop",
            (ctx, a) => Set(ctx, c => c with { RecordBurstStats = a[2] == "on" }, $"Burst statistics recording {a[2]}")),
    ];

    static int[] ParseLengths(string s)
    {
        try { return AppOptions.ParseTxPkts(s); }
        catch (UsageException e) { throw new ArgumentException(e.Message.Replace("--txpkts", "txpkts")); }
    }

    static void Set(CommandContext ctx, Func<ForwardingConfig, ForwardingConfig> change, string done)
    {
        ctx.RequireStopped();
        var fwd = ctx.Host.Forwarding;
        var before = fwd.Config;
        var after = change(before);
        if (after.Cores < 0) throw new ArgumentException("nbcore must be 1 or more");
        try
        {
            fwd.Reconfigure(after);
            fwd.BuildStreams();
        }
        catch
        {
            fwd.Reconfigure(before);
            fwd.BuildStreams();
            throw;
        }
        ctx.Out.WriteLine(done);
    }
}
