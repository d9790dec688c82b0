using Datapath.Engine.Lcores;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Engine.Lcores;

public class LcoreTests
{
    static readonly int[] TwoCpus = [0, 1];

    [Fact]
    public void CoreListsAndLcoreMapsParseAsDpdkDoes()
    {
        var l = LcoreMap.FromCoreList("0-1", TwoCpus);
        Assert.Equal([0, 1], l.Entries.Select(e => e.Lcore));
        Assert.Equal(0, l.Main.Lcore);

        var m = LcoreMap.FromLcoresOption("0@1,1@0", TwoCpus);
        Assert.Equal([1], m.Entries[0].Cpus);
        Assert.Equal([0], m.Entries[1].Cpus);

        var g = LcoreMap.FromLcoresOption("0@0,(1,2)@(0,1)", TwoCpus);
        Assert.Equal(3, g.Entries.Count);
        Assert.Equal([0, 1], g.Entries[2].Cpus);

        Assert.Equal([0, 2], LcoreMap.FromCoreList("0,2", [0, 1, 2]).Entries.Select(e => e.Lcore));
    }

    [Theory]
    [InlineData("5", "CPU 5 is not available")]
    [InlineData("0,0", "given twice")]
    [InlineData("x", "not a CPU number")]
    [InlineData("1-0", "runs backwards")]
    public void BadCoreListsSayWhatIsWrong(string list, string message)
    {
        var e = Assert.Throws<LcoreConfigException>(() => LcoreMap.FromCoreList(list, TwoCpus));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void WorkersArePinnedAndRunWhatTheyAreGiven()
    {
        int cpus = LcoreMap.AvailableCpus().Length;
        string list = cpus >= 2 ? "0-1" : "0,0";
        var map = cpus >= 2 ? LcoreMap.FromCoreList("0-1") : LcoreMap.FromLcoresOption("0@0,1@0");
        using var lcores = new LcoreSet(map, pinMain: false);
        int ranOn = -1;
        int[] affinity = [];
        lcores.Launch(1, () =>
        {
            ranOn = Lcore.CurrentId;
            affinity = Libc.GetAffinity();
        });
        lcores.Wait(1);
        Assert.Equal(1, ranOn);
        Assert.Equal(map.Entries[1].Cpus, affinity);
        // Read back from outside, by thread id, as a user would with taskset -p.
        Assert.Equal(map.Entries[1].Cpus, Libc.GetAffinity(lcores.ThreadId(1)));
        _ = list;
    }

    [Fact]
    public void AFailingJobIsReportedByWait()
    {
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@0,1@0"), pinMain: false);
        lcores.Launch(1, () => throw new InvalidDataException("boom"));
        var e = Assert.Throws<InvalidOperationException>(() => lcores.Wait(1));
        Assert.Contains("boom", e.Message);
        // The lcore is usable again afterwards.
        int x = 0;
        lcores.Launch(1, () => x = 42);
        lcores.Wait(1);
        Assert.Equal(42, x);
    }

    [Fact]
    public void LaunchingOnTheMainOrAnUnknownLcoreIsRefused()
    {
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@0,1@0"), pinMain: false);
        Assert.Throws<ArgumentException>(() => lcores.Launch(0, () => { }));
        Assert.Throws<ArgumentException>(() => lcores.Launch(7, () => { }));
    }
}
