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
        var app = cmd.App;
        using var stopSignal = new ManualResetEventSlim(false);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stopSignal.Set(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stopSignal.Set(); });

        host.Forwarding.Start(app.TxFirst ? 1 : 0);
        output.WriteLine("Press Ctrl-C to stop forwarding and quit.");
        var printer = new StatsPrinter();
        var deadline = app.RunSeconds > 0 ? DateTime.UtcNow.AddSeconds(app.RunSeconds) : DateTime.MaxValue;
        int period = app.StatsPeriod > 0 ? app.StatsPeriod * 1000 : 1000;
        while (!stopSignal.Wait(Math.Max(1, (int)Math.Min(period, (deadline - DateTime.UtcNow).TotalMilliseconds))))
        {
            if (DateTime.UtcNow >= deadline) break;
            if (app.StatsPeriod > 0)
                foreach (var p in host.Ports.All) printer.PrintPortStats(output, p);
        }
        host.Forwarding.Stop();
        output.WriteLine("Telling cores to stop...");
        StatsPrinter.PrintForwardStats(output, host.Forwarding);
        foreach (var p in host.Ports.All) printer.PrintPortStats(output, p);
        output.WriteLine("Bye...");
        return 0;
    }
}
