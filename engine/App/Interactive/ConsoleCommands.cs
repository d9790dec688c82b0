using Datapath.App.Interactive.Commands;

namespace Datapath.App.Interactive;

/// <summary>Every console command, in the order `help` lists them.</summary>
public static class ConsoleCommands
{
    public static CommandTable Create() => new(
    [
        .. GeneralCommands.All(),
        .. ForwardCommands.All(),
        .. SetCommands.All(),
        .. PortShowCommands.All(),
        .. PortControlCommands.All(),
        .. ConfigCommands.All(),
    ]);
}
