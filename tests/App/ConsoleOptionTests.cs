using Datapath.App.Options;
using Datapath.Tests.Support;

namespace Datapath.Tests.App;

/// <summary>The console's side of the command line: -a on either side of --, help, and misplaced options.</summary>
public class ConsoleOptionTests
{
    [Fact]
    public void DashAIsAPciDeviceBeforeTheSplitAndAutoStartAfterIt()
    {
        var cmd = CommandLine.Parse(["-a", "0000:00:04.0", "--", "-i", "-a", "--stats-file", "/tmp/x.jsonl"]);
        Assert.Equal(["0000:00:04.0"], cmd.Eal.AllowedPci);
        Assert.True(cmd.App.AutoStart);
        Assert.True(cmd.App.Interactive);
        Assert.Equal("/tmp/x.jsonl", cmd.App.StatsFile);
    }

    [Theory]
    [InlineData("-i is an application option: put it after --", "-i")]
    [InlineData("--stats-period is an application option", "--stats-period", "1")]
    [InlineData("--vdev is an EAL option: put it before --", "--", "--vdev", "net_ring0")]
    public void AnOptionOnTheWrongSideOfTheSplitSaysWhereItGoes(string expected, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => CommandLine.Parse(args));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void HelpListsTheApplicationOptionsTheIssueNames()
    {
        using var p = ChildProcess.Datapath("--help");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, p.ExitCode);
        foreach (string opt in new[] { "-i", "--auto-start", "--rxq", "--txq", "--rxd", "--txd", "--burst", "--stats-file", "-m", "--allow", "Examples:" })
            Assert.Contains(opt, p.Stdout);
    }

    [Fact]
    public void AScriptPipedIntoTheConsoleRunsAndQuitsCleanly()
    {
        using var p = new ChildProcess("dotnet", [RepoPaths.DatapathDll, "--lcores", "0@0,1@1", "--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0", "--", "-i"],
            stdin: "start tx_first\nshow port stats all\nstop\nquit\n");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(90)), p.Stdout + p.Stderr);
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("NIC statistics for port 0", p.Stdout);
        Assert.Contains("Accumulated forward statistics for all ports", p.Stdout);
    }
}
