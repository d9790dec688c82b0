using Datapath.Tests.Support;

namespace Datapath.Tests.App;

/// <summary>Bad options end with one line naming the problem and the fix, and a non-zero exit: never a stack trace.</summary>
public class CommandLineErrorTests
{
    [Theory]
    [InlineData("unknown driver net_foo0", "-l", "0-1", "--vdev", "net_foo0")]
    [InlineData("queues=0 is out of range", "-l", "0-1", "--vdev", "net_ring0,queues=0")]
    [InlineData("CPU 5 is not available", "-l", "5", "--vdev", "net_ring0")]
    [InlineData("unknown EAL option --bogus", "--bogus")]
    [InlineData("--forward-mode warp: unknown", "-l", "0-1", "--vdev", "net_ring0", "--", "--forward-mode", "warp")]
    [InlineData("--burst 0: out of range", "-l", "0-1", "--vdev", "net_ring0", "--", "--burst", "0")]
    [InlineData("--iova-mode xx: expected va or pa", "--iova-mode", "xx")]
    [InlineData("unknown key 'bogus'", "-l", "0-1", "--vdev", "net_null0,bogus=1")]
    [InlineData("no ports", "-l", "0-1", "--no-huge")]
    public void OneLineAndANonZeroExit(string expected, params string[] args)
    {
        using var p = ChildProcess.Datapath(args);
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "datapath did not exit");
        Assert.NotEqual(0, p.ExitCode);
        string err = p.Stderr.Trim();
        Assert.Contains(expected, err);
        Assert.StartsWith("datapath: error: ", err);
        Assert.Single(err.Split('\n'));
        Assert.DoesNotContain("   at ", p.Stdout + err);
    }

    [Fact]
    public void HelpListsEveryOption()
    {
        using var p = ChildProcess.Datapath("--help");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, p.ExitCode);
        foreach (string opt in new[] { "-l", "--lcores", "--vdev", "--no-huge", "--huge-dir", "--iova-mode", "--file-prefix", "--forward-mode", "--nb-cores", "--txpkts", "--stats-period", "--port-topology", "--total-num-mbufs" })
            Assert.Contains(opt, p.Stdout);
    }
}

public class MemoryOptionTests
{
    [Fact]
    public void AMemoryLimitTooSmallForThePoolSaysSo()
    {
        using var p = ChildProcess.Datapath("-l", "0-1", "-m", "4", "--vdev", "net_ring0");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("-m limit of 4 MiB", p.Stderr);
    }

    [Fact]
    public void HugeDirMustBeAHugetlbfsMount()
    {
        using var p = ChildProcess.Datapath("-l", "0-1", "--huge-dir", "/tmp", "--vdev", "net_ring0");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("--huge-dir /tmp: not a hugetlbfs mount", p.Stderr);
    }

    [Fact]
    public void HugeDirRunsFromTheMountAndLeavesNoFiles()
    {
        var before = Directory.GetFiles("/dev/hugepages");
        using var p = ChildProcess.Datapath("-l", "0-1", "--huge-dir", "/dev/hugepages", "--file-prefix", "hugedirtest",
            "--vdev", "net_ring0", "--", "--run-seconds", "1");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(before, Directory.GetFiles("/dev/hugepages"));
    }
}
