import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { usageError } from '../errors.js';

interface Tree {
  [command: string]: string[];
}

function tree(program: Command): Tree {
  const t: Tree = { '': program.commands.map((c) => c.name()) };
  for (const c of program.commands) t[c.name()] = c.commands.map((s) => s.name());
  return t;
}

function bash(t: Tree): string {
  const cases = Object.entries(t)
    .filter(([k, v]) => k && v.length)
    .map(([k, v]) => `    ${k}) words="${v.join(' ')}" ;;`)
    .join('\n');
  return `# smartsupport bash completion: eval "$(smartsupport completion bash)"
_smartsupport() {
  local cur words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${t[''].join(' ')}"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${cases}
    *) words="" ;;
    esac
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _smartsupport smartsupport
`;
}

function zsh(t: Tree): string {
  return `#compdef smartsupport
# smartsupport zsh completion: smartsupport completion zsh > "\${fpath[1]}/_smartsupport"
autoload -U +X bashcompinit && bashcompinit
${bash(t)}`;
}

function fish(t: Tree): string {
  const lines = [`# smartsupport fish completion: smartsupport completion fish > ~/.config/fish/completions/smartsupport.fish`, 'complete -c smartsupport -f'];
  for (const c of t['']) lines.push(`complete -c smartsupport -n '__fish_use_subcommand' -a '${c}'`);
  for (const [k, v] of Object.entries(t)) {
    if (!k) continue;
    for (const s of v) lines.push(`complete -c smartsupport -n '__fish_seen_subcommand_from ${k}' -a '${s}'`);
  }
  return lines.join('\n') + '\n';
}

export function register(program: Command, factory: () => Factory): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash | zsh | fish')
    .action((shell: string) => {
      const t = tree(program);
      const out = shell === 'bash' ? bash(t) : shell === 'zsh' ? zsh(t) : shell === 'fish' ? fish(t) : undefined;
      if (!out) throw usageError(`unsupported shell ${shell}; use bash, zsh or fish`);
      factory().out(out);
    });
}
