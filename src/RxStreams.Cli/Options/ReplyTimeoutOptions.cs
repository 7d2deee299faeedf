using System.CommandLine;
using System.Globalization;

namespace RxStreams.Cli.Options;

/// <summary>
/// <c>send</c>'s <c>--timeout SECONDS</c> (30 by default, 0 for none): the client never waits forever. With a MESSAGE
/// it bounds the whole exchange (connect, send, the reply): a server that never answers, such as <c>echo --lines</c>
/// given a message without a newline, fails the command. With <c>--file</c> it is an idle timeout instead: a transfer
/// may take hours, so only a stretch of that long with nothing sent and nothing received fails it (a peer that stops
/// reading, or stops answering). Expiry is a runtime failure: exit code 1, one line on standard error.
/// </summary>
internal sealed class ReplyTimeoutOptions
{
    /// <summary>The default: long enough for any live peer on a slow link, short enough that a script notices.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    private readonly Option<TimeSpan?> _timeout = new("--timeout")
    {
        Description = "Give up after this long without a reply; with --file, after this long with no byte sent or received (default: 30; 0: wait forever)",
        HelpName = "SECONDS",
        CustomParser = OptionParsers.SecondsOrZero,
    };

    /// <summary>Adds the option to <paramref name="command"/>.</summary>
    public void AddTo(Command command) => command.Options.Add(_timeout);

    /// <summary>The timeout; <see langword="null"/> when <c>--timeout 0</c> turned it off.</summary>
    public TimeSpan? Read(ParseResult result)
    {
        var timeout = result.GetValue(_timeout) ?? Default;
        return timeout == TimeSpan.Zero ? null : timeout;
    }

    /// <summary>How a timeout is shown in messages: <c>30 s</c>, <c>0.5 s</c>.</summary>
    public static string Format(TimeSpan timeout) => timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
