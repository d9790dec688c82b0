using System.Text;
using Datapath.App.Interactive;

namespace Datapath.Tests.App;

/// <summary>The line editor fed key bytes as a terminal sends them, without a terminal.</summary>
public class LineEditorTests
{
    static readonly CommandTable Table = ConsoleCommands.Create();

    static (LineEditor Editor, StringWriter Screen) Editor(string keys)
    {
        var screen = new StringWriter();
        return (new LineEditor(new MemoryStream(Encoding.Latin1.GetBytes(keys)), screen, Table.Complete), screen);
    }

    [Fact]
    public void TypedTextComesBackAsTheLine()
    {
        var (e, screen) = Editor("show port stats all\r");
        Assert.Equal("show port stats all", e.ReadLine("testpmd> "));
        Assert.StartsWith("testpmd> show port stats all", screen.ToString());
    }

    [Fact]
    public void TabCompletesAUniqueWordAndAddsASpace()
    {
        var (e, _) = Editor("sho\tport su\tall\r");
        Assert.Equal("show port summary all", e.ReadLine("> "));
    }

    [Fact]
    public void TabCompletesTheCommonPrefixThenASecondTabListsTheChoices()
    {
        var (e, screen) = Editor("set fwd mac\t\t\r");
        Assert.Equal("set fwd mac", e.ReadLine("> "));
        Assert.Contains("mac  macswap", screen.ToString());
    }

    [Fact]
    public void CursorKeysAndDeletionEditInThePlace()
    {
        // Left twice, then a character goes in before the cursor.
        Assert.Equal("stop", Editor("sop\x1b[D\x1b[Dt\r").Editor.ReadLine(">"));
        // Ctrl-A to the start, Ctrl-K kills the rest.
        Assert.Equal("", Editor("quit\x01\x0b\r").Editor.ReadLine(">"));
        // Backspace, Delete (ESC [ 3 ~) after Home.
        Assert.Equal("top", Editor("stopp\x7f\x1b[H\x1b[3~\r").Editor.ReadLine(">"));
        // Ctrl-W deletes the word before the cursor; Ctrl-U the whole start of the line.
        Assert.Equal("show ", Editor("show port\x17\r").Editor.ReadLine(">"));
        Assert.Equal("help", Editor("garbage\x15help\r").Editor.ReadLine(">"));
        // ESC O sequences (keypad mode) work like ESC [ ones.
        Assert.Equal("ab", Editor("b\x1bOHa\r").Editor.ReadLine(">"));
    }

    [Fact]
    public void UpAndDownWalkTheHistoryAndKeepTheLineBeingTyped()
    {
        var (e, _) = Editor("start\rstop\r\x1b[A\x1b[A\r" + "quit\x1b[A\x1b[B\r");
        Assert.Equal("start", e.ReadLine(">"));
        Assert.Equal("stop", e.ReadLine(">"));
        Assert.Equal("start", e.ReadLine(">"));
        Assert.Equal("quit", e.ReadLine(">"));
        Assert.Equal(["start", "stop", "start", "quit"], e.History);
    }

    [Fact]
    public void CtrlDOnAnEmptyLineAndEndOfInputEndTheSession()
    {
        Assert.Null(Editor("\x04").Editor.ReadLine(">"));
        Assert.Null(Editor("half a line").Editor.ReadLine(">"));
    }

    [Fact]
    public void ControlBytesAndNonAsciiNeverLandInTheLine() =>
        Assert.Equal("stop", Editor("st\x07\x00o\xc3\xa9p\r").Editor.ReadLine(">"));
}
