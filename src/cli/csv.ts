// A streaming CSV reader (RFC 4180): fields separated by commas, records by
// LF or CRLF; a field in double quotes may hold commas, quotes (doubled) and
// line breaks, kept as they are. Text arrives in pieces of any size (push),
// records come out as soon as they end. A malformed record (a quote inside an
// unquoted field, text after a closing quote, a quoted field still open at
// the end) comes out as an error with its line number, and reading goes on
// from the next line: one bad record does not lose the rest.

export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

enum State {
  /** At the start of a field. */
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: the field's end, or the first of two. */
  QuoteInQuoted,
  /** After an error: skipping to the end of the line. */
  Skip,
}

export class CsvReader {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  /** The line being read, from 1, and the one the current record started on. */
  private line = 1;
  private recordLine = 1;
  /** A CR outside quotes, held back until the next character says whether it ends a line. */
  private cr = false;
  /** The record has a quoted field (so `""` alone is a record, not an empty line). */
  private quoted = false;
  private out: CsvRecord[] = [];

  /** Reads `text`; returns the records it completed. */
  push(text: string): CsvRecord[] {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.cr) {
        this.cr = false;
        if (c !== '\n') this.field += '\r'; // a lone CR is data
      }
      switch (this.state) {
        case State.Skip:
          if (c === '\n') this.newRecord();
          break;
        case State.Quoted: {
          if (c === '"') {
            this.state = State.QuoteInQuoted;
            break;
          }
          // The run up to the next quote is the field's, line breaks included.
          const q = text.indexOf('"', i);
          const run = text.slice(i, q === -1 ? text.length : q);
          this.line += countNewlines(run);
          this.field += run;
          i += run.length - 1;
          break;
        }
        case State.QuoteInQuoted:
          if (c === '"') {
            this.field += '"';
            this.state = State.Quoted;
          } else if (c === ',' || c === '\n' || c === '\r') {
            this.state = State.Unquoted; // the field is done
            this.separator(c);
          } else {
            this.fail('text after a closing quote (a quote inside a quoted field is written "")');
          }
          break;
        case State.FieldStart:
          if (c === '"') {
            this.state = State.Quoted;
            this.quoted = true;
            break;
          }
          this.state = State.Unquoted;
        // falls through
        case State.Unquoted:
          if (c === ',' || c === '\n' || c === '\r') this.separator(c);
          else if (c === '"') this.fail('a quote inside an unquoted field (quote the whole field and double the quote)');
          else {
            let j = i + 1;
            while (j < text.length && !SPECIAL.has(text[j]!)) j++;
            this.field += text.slice(i, j);
            i = j - 1;
          }
          break;
      }
    }
    return this.take();
  }

  /** Ends the input; returns the last record, if any. */
  end(): CsvRecord[] {
    if (this.cr) {
      this.cr = false;
      this.endRecord();
    } else if (this.state === State.Quoted) {
      this.out.push({ line: this.recordLine, error: 'a quoted field is still open at the end of the input' });
    } else if (this.state !== State.Skip) {
      this.endRecord();
    }
    this.state = State.FieldStart;
    return this.take();
  }

  private take(): CsvRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private separator(c: string): void {
    if (c === ',') {
      this.fields.push(this.field);
      this.field = '';
      this.state = State.FieldStart;
    } else if (c === '\r') {
      this.cr = true; // a line end if LF follows, else data (handled at the next character)
      this.state = State.Unquoted;
    } else {
      this.endRecord();
    }
  }

  private endRecord(): void {
    // An empty line is no record.
    const blank = this.fields.length === 0 && this.field === '' && !this.quoted;
    if (!blank) {
      this.fields.push(this.field);
      this.out.push({ line: this.recordLine, fields: this.fields });
    }
    this.newRecord();
  }

  private newRecord(): void {
    this.line++;
    this.fields = [];
    this.field = '';
    this.quoted = false;
    this.state = State.FieldStart;
    this.recordLine = this.line;
  }

  private fail(why: string): void {
    this.out.push({ line: this.recordLine, error: why });
    this.state = State.Skip;
  }
}

const SPECIAL = new Set([',', '\n', '\r', '"']);

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
