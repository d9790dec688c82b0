namespace Datapath.App.Interactive.Commands;

/// <summary>help and quit.</summary>
public static class GeneralCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("help", "list every command", Help),
        new("quit", "stop forwarding, close the ports and exit", (ctx, _) => ctx.QuitRequested = true),
    ];

    static void Help(CommandContext ctx, CommandArgs _)
    {
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Commands (<port> is a port id or 'all'; Tab completes command words):");
        ctx.Out.WriteLine();
        foreach (var c in ctx.Table.Commands) ctx.Out.WriteLine($"  {c.Syntax.PadRight(38)} {c.Help}");
        ctx.Out.WriteLine();
    }
}
