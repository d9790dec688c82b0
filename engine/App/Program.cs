using Datapath.App.Interactive;
using Datapath.App.Options;
using Datapath.App.Running;
using Datapath.Engine.Lcores;
using Datapath.Engine.Ports;
using Datapath.Hugepages;
using Datapath.Hugepages.Native;

namespace Datapath.App;

public static class Program
{
    public static int Main(string[] args)
    {
        CommandLine cmd;
        try
        {
            cmd = CommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            return Fail(e.Message);
        }
        if (cmd.ShowHelp)
        {
            Console.Write(CommandLine.Usage());
            return 0;
        }
        try
        {
            return Run(cmd, Console.Out);
        }
        catch (Exception e) when (IsUserError(e))
        {
            return Fail(e.Message);
        }
    }

    /// <summary>Failures a user causes and can fix: one line, no stack trace.</summary>
    static bool IsUserError(Exception e) => e is UsageException or DeviceArgsException or LcoreConfigException
        or HugepageException or PortConfigException or SystemCallException or ArgumentException or FormatException;

    static int Fail(string message)
    {
        Console.Error.WriteLine($"datapath: error: {message}");
        return 1;
    }

    static int Run(CommandLine cmd, TextWriter output)
    {
        using var host = new EngineHost(cmd, output);
        Banner.Print(output, host);
        return cmd.App.Interactive ? InteractiveRun.Run(host, output) : NonInteractiveRun.Run(host, output);
    }
}
