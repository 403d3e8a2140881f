/** Socket colours, one per type; links take the colour of their type. */
export const SOCKET_COLOURS: Record<string, string> = {
  MODEL: '#b39ddb',
  CONDITIONING: '#ffa931',
  SCHEDULE: '#4dd0e1',
  LATENT: '#ff9cf9',
  IMAGE: '#64b5f6',
  SCORES: '#ffd54f',
  INT: '#9ccc65',
  FLOAT: '#aed581',
  STRING: '#81c784',
  BOOLEAN: '#e57373',
  COMBO: '#90a4ae',
};
