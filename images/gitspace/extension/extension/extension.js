// Shows the gitspace's HOME and repo folder: proof the preinstalled extension runs.
const vscode = require('vscode');
const os = require('os');

function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand('gitspaceHello.show', () => {
    const folder = (vscode.workspace.workspaceFolders || [])[0];
    vscode.window.showInformationMessage(
      `gitspace: HOME=${os.homedir()} folder=${folder ? folder.uri.fsPath : '(none)'}`);
  }));
}

function deactivate() {}

module.exports = { activate, deactivate };
