using System.CommandLine;

namespace RxStreams.Cli.Options;

/// <summary>
/// <c>--progress</c> / <c>--no-progress</c>: the transfer display on standard error. By default it is shown only when
/// standard error is a terminal, so pipes, logs and tests stay clean; <c>--progress</c> forces it on (one line per
/// refresh when standard error is not a terminal), <c>--no-progress</c> forces it off.
/// </summary>
internal sealed class ProgressOptions
{
    private readonly Option<bool> _progress = new("--progress")
    {
        Description = "Show bytes sent, rate and percentage on stderr (default: only when stderr is a terminal)",
    };

    private readonly Option<bool> _noProgress = new("--no-progress")
    {
        Description = "Never show the progress display",
    };

    /// <summary>Adds both options, and the rule that they exclude each other, to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_progress);
        command.Options.Add(_noProgress);
        command.Validators.Add(result =>
        {
            if (result.GetValue(_progress) && result.GetValue(_noProgress))
            {
                result.AddError("--progress and --no-progress exclude each other");
            }
        });
    }

    /// <summary>Whether to show the display: forced by a flag, else when standard error is a terminal.</summary>
    public bool Read(ParseResult result, bool errorIsTerminal) =>
        result.GetValue(_progress) || (!result.GetValue(_noProgress) && errorIsTerminal);
}
